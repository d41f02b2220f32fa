"""Image augmentation that keeps the feature cache: each augmented copy is a cached feature row.

retrain.py bypassed its bottleneck cache whenever distortions were on, so every epoch decoded
and ran every image again. Here a training image gets a fixed number of augmented copies,
each drawn from a random generator seeded by the image's content and the copy number, so a
copy is the same picture every time: its features are computed once and reused by every
later run with the same options. Validation and test images are never augmented.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from classifier.errors import SortscopeError

_TURNS = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)


@dataclass(frozen=True)
class Augmentation:
    """Random changes to a training image; all off by default."""

    flips: bool = False  # mirror left-right and top-bottom at random
    rotate90: bool = False  # turn by 0, 90, 180 or 270 degrees: orientation-free images
    rotation: float = 0.0  # plus or minus this many degrees, at random
    zoom: float = 0.0  # crop away up to this fraction of each side, then resize back
    brightness: float = 0.0  # scale brightness by 1 +- this
    contrast: float = 0.0  # scale contrast by 1 +- this

    def __post_init__(self) -> None:
        checks = [
            (0.0 <= self.rotation <= 180.0, "Rotation must be between 0 and 180 degrees."),
            (0.0 <= self.zoom < 0.5, "Zoom must be at least 0 and below 0.5 (50 %)."),
            (0.0 <= self.brightness < 1.0, "Brightness change must be at least 0 and below 1."),
            (0.0 <= self.contrast < 1.0, "Contrast change must be at least 0 and below 1."),
        ]
        for ok, message in checks:
            if not ok:
                raise SortscopeError(message, "Use small values, e.g. 15 degrees or 0.1.")

    @property
    def enabled(self) -> bool:
        return self != Augmentation()

    @property
    def key(self) -> str:
        """Differs whenever the augmented pictures would differ."""
        return (
            f"f{int(self.flips)}r{int(self.rotate90)}a{self.rotation:g}z{self.zoom:g}"
            f"b{self.brightness:g}c{self.contrast:g}"
        )

    def summary(self) -> str:
        parts = []
        if self.flips:
            parts.append("flips")
        if self.rotate90:
            parts.append("90° turns")
        if self.rotation:
            parts.append(f"±{self.rotation:g}° rotation")
        if self.zoom:
            parts.append(f"zoom up to {self.zoom:.0%}")
        if self.brightness:
            parts.append(f"brightness ±{self.brightness:.0%}")
        if self.contrast:
            parts.append(f"contrast ±{self.contrast:.0%}")
        return ", ".join(parts) or "none"

    def apply(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        """One random variant of an RGB image (same size as the input)."""
        width, height = image.size
        if self.zoom:
            keep = 1.0 - rng.uniform(0.0, self.zoom)
            w, h = max(1, round(width * keep)), max(1, round(height * keep))
            left = int(rng.integers(0, width - w + 1))
            top = int(rng.integers(0, height - h + 1))
            image = image.resize(
                (width, height), Image.Resampling.BILINEAR, (left, top, left + w, top + h)
            )
        if self.flips:
            if rng.random() < 0.5:
                image = ImageOps.mirror(image)
            if rng.random() < 0.5:
                image = ImageOps.flip(image)
        if self.rotate90:
            turns = int(rng.integers(0, 4))
            if turns:
                image = image.transpose(_TURNS[turns - 1])
                if image.size != (width, height):
                    image = image.resize((width, height), Image.Resampling.BILINEAR)
        if self.rotation:
            angle = float(rng.uniform(-self.rotation, self.rotation))
            fill = tuple(int(v) for v in np.asarray(image).reshape(-1, 3).mean(axis=0))
            image = image.rotate(angle, Image.Resampling.BILINEAR, fillcolor=fill)
        if self.brightness:
            image = ImageEnhance.Brightness(image).enhance(
                float(rng.uniform(1 - self.brightness, 1 + self.brightness))
            )
        if self.contrast:
            image = ImageEnhance.Contrast(image).enhance(
                float(rng.uniform(1 - self.contrast, 1 + self.contrast))
            )
        return image


@dataclass(frozen=True)
class Variants:
    """`copies` augmented versions of every file, each with its own cache key."""

    augmentation: Augmentation
    copies: int

    def key(self, digest: str, copy: int) -> str:
        text = f"{digest}|{self.augmentation.key}|{copy}"
        return hashlib.blake2b(text.encode("ascii"), digest_size=16).hexdigest()

    def rng(self, digest: str, copy: int) -> np.random.Generator:
        """The same generator for the same image and copy, on every run and computer."""
        seed = int(self.key(digest, copy)[:16], 16)
        return np.random.default_rng(seed)
