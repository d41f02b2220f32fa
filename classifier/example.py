"""The built-in example: synthetic telescope images of star clusters and galaxies.

Drawn procedurally (no download, no data files), deterministically from fixed seeds, so every
new user gets the same dataset in a couple of seconds:
- `globular_cluster`: hundreds of stars packed towards the centre (a Plummer profile) over an
  unresolved glow;
- `open_cluster`: a few dozen brighter stars in a loose, irregular group;
- `galaxy`: a smooth elliptical light profile (Sersic-like) with a bright core.
All on a noisy sky with faint field stars and Gaussian point-spread functions. The images are
synthetic and say so in the folder's README.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from classifier import paths

EXAMPLE_VERSION = 1
SIZE = 128
CLASSES = ("globular_cluster", "open_cluster", "galaxy")
PER_CLASS = 60
UNSORTED = 45

_README = """Sortscope example dataset (SYNTHETIC)

These images were drawn by Sortscope itself: they are not real telescope data.
star_clusters/   one sub-folder per class, for training
unsorted_night/  a mixed "night" of new images, for trying batch classification
Delete this folder at any time; Sortscope draws it again when asked.
"""


@dataclass(frozen=True)
class ExampleDataset:
    root: Path
    training: Path  # one sub-folder per class
    unsorted: Path  # unlabelled images to classify


def _psf_stamp(sigma: float) -> tuple[np.ndarray, int]:
    radius = max(2, int(np.ceil(3 * sigma)))
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    stamp = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    return stamp / stamp.sum(), radius


def _add_stars(image: np.ndarray, xs, ys, fluxes, sigma: float) -> None:
    stamp, r = _psf_stamp(sigma)
    padded = np.zeros((SIZE + 2 * r, SIZE + 2 * r))
    for x, y, flux in zip(xs, ys, fluxes, strict=True):
        ix, iy = round(float(x)), round(float(y))
        if 0 <= ix < SIZE and 0 <= iy < SIZE:
            padded[iy : iy + 2 * r + 1, ix : ix + 2 * r + 1] += flux * stamp
    image += padded[r : r + SIZE, r : r + SIZE]


def _sky(rng: np.random.Generator) -> np.ndarray:
    level = rng.uniform(20, 40)
    gy, gx = rng.normal(0, 0.04, 2)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    image = level + gy * (yy - SIZE / 2) + gx * (xx - SIZE / 2)
    n_field = rng.integers(15, 40)
    _add_stars(
        image,
        rng.uniform(0, SIZE, n_field),
        rng.uniform(0, SIZE, n_field),
        rng.lognormal(5.0, 0.8, n_field),
        rng.uniform(1.0, 1.4),
    )
    return image


def _globular(rng: np.random.Generator, image: np.ndarray) -> None:
    n = int(rng.integers(250, 600))
    core = rng.uniform(5, 12)
    # Plummer profile radii by inverse transform sampling.
    u = rng.uniform(0.01, 0.9, n)
    radii = core / np.sqrt(u ** (-2 / 3) - 1)
    angles = rng.uniform(0, 2 * np.pi, n)
    cx, cy = SIZE / 2 + rng.normal(0, 6, 2)
    _add_stars(
        image,
        cx + radii * np.cos(angles),
        cy + radii * np.sin(angles),
        rng.lognormal(5.2, 0.7, n),
        rng.uniform(1.0, 1.5),
    )
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    glow = rng.uniform(60, 140) / (1 + ((xx - cx) ** 2 + (yy - cy) ** 2) / core**2) ** 2
    image += glow


def _open(rng: np.random.Generator, image: np.ndarray) -> None:
    n = int(rng.integers(20, 60))
    groups = rng.integers(1, 4)
    centres = rng.uniform(30, SIZE - 30, (groups, 2))
    pick = rng.integers(0, groups, n)
    spread = rng.uniform(12, 30)
    xs = centres[pick, 0] + rng.normal(0, spread, n)
    ys = centres[pick, 1] + rng.normal(0, spread, n)
    _add_stars(image, xs, ys, rng.lognormal(7.0, 0.6, n), rng.uniform(1.1, 1.6))


def _galaxy(rng: np.random.Generator, image: np.ndarray) -> None:
    cx, cy = SIZE / 2 + rng.normal(0, 8, 2)
    angle = rng.uniform(0, np.pi)
    axis_ratio = rng.uniform(0.3, 0.9)
    scale = rng.uniform(6, 16)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    dx, dy = xx - cx, yy - cy
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / axis_ratio
    r = np.sqrt(u**2 + v**2)
    n = rng.uniform(1.0, 4.0)  # Sersic index: discs to ellipticals
    image += rng.uniform(120, 220) * np.exp(-((r / scale) ** (1 / n)))


_DRAW = {"globular_cluster": _globular, "open_cluster": _open, "galaxy": _galaxy}


def draw_counts(kind: str, seed: int) -> np.ndarray:
    """One synthetic frame of `kind` in detector counts (float32), the same for the same seed."""
    rng = np.random.default_rng(seed)
    image = _sky(rng)
    _DRAW[kind](rng, image)
    image = rng.poisson(np.clip(image, 0, None)).astype(np.float64)  # photon noise
    image += rng.normal(0, 3.0, image.shape)  # read noise
    return image.astype(np.float32)


def draw(kind: str, seed: int) -> Image.Image:
    """One synthetic 8-bit image of `kind`, the same for the same seed."""
    image = draw_counts(kind, seed).astype(np.float64)
    stretched = np.arcsinh(np.clip(image - 15, 0, None) / 25) / np.arcsinh(400 / 25)
    gray = np.clip(stretched * 255, 0, 255).astype(np.uint8)
    tint = np.array([1.0, 0.97, 0.9])  # slightly warm, like a colour-balanced frame
    return Image.fromarray((gray[..., None] * tint).astype(np.uint8), mode="RGB")


def example_root(fits: bool = False) -> Path:
    return paths.data_dir() / "example" / f"v{EXAMPLE_VERSION}{'-fits' if fits else ''}"


def _save_png(kind: str, seed: int, path: Path, _number: int) -> None:
    draw(kind, seed).save(path.with_suffix(".png"), optimize=False)


def _save_fits(kind: str, seed: int, path: Path, number: int) -> None:
    """Raw counts as FITS, with the header keywords a real night's frames carry."""
    from astropy.io import fits

    header = fits.Header()
    header["OBJECT"] = kind if "unsorted" not in path.parent.name else "field"
    header["DATE-OBS"] = f"2026-11-21T{20 + number // 60 % 8:02d}:{number % 60:02d}:00"
    header["FILTER"] = "RGB"[number % 3]
    header["EXPTIME"] = 30.0
    header["COMMENT"] = "Synthetic frame drawn by Sortscope; not real telescope data."
    fits.PrimaryHDU(np.flipud(draw_counts(kind, seed)), header).writeto(path.with_suffix(".fits"))


def ensure_example_dataset(root: Path | None = None, fits: bool = False) -> ExampleDataset:
    """Create the example once (atomically: a half-drawn set is never left behind).

    With `fits`, the same frames are written as 32-bit float FITS in detector counts, for
    trying stretches and header columns.
    """
    root = root or example_root(fits)
    save = _save_fits if fits else _save_png
    result = ExampleDataset(root, root / "star_clusters", root / "unsorted_night")
    if (root / "README.txt").is_file():
        return result
    staging = root.with_name(f".{root.name}-{uuid.uuid4().hex[:8]}")
    try:
        for k, kind in enumerate(CLASSES):
            folder = staging / "star_clusters" / kind
            folder.mkdir(parents=True)
            for i in range(PER_CLASS):
                save(kind, 1000 * k + i, folder / f"{kind}_{i:03d}", i)
        night = staging / "unsorted_night"
        night.mkdir()
        for i in range(UNSORTED):
            kind = CLASSES[i % len(CLASSES)]
            save(kind, 900_000 + i, night / f"frame_{i:04d}", i)
        (staging / "README.txt").write_text(_README, encoding="utf-8")
        if not root.exists():  # another process may have finished first
            root.parent.mkdir(parents=True, exist_ok=True)
            staging.replace(root)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return result
