"""Small image datasets made on the fly by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# Distinct mean colours make classes separable by any backbone, even the tiny test one.
CLASS_COLOURS = {
    "Red": (200, 40, 40),
    "green": (40, 190, 60),
    "Blue Sky": (40, 60, 210),
}


def noisy_image(rng: np.random.Generator, colour, size=(48, 40)) -> Image.Image:
    base = np.array(colour, dtype=np.float64)
    pixels = rng.normal(base, 35.0, (size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_dataset(
    root: Path,
    per_class: int | dict[str, int] = 24,
    classes: dict[str, tuple[int, int, int]] | None = None,
    seed: int = 0,
    fmt: str = "png",
) -> Path:
    """One folder per class with distinct colour noise; returns `root`."""
    classes = classes or CLASS_COLOURS
    rng = np.random.default_rng(seed)
    for name, colour in classes.items():
        count = per_class[name] if isinstance(per_class, dict) else per_class
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            noisy_image(rng, colour).save(
                folder / f"{name.lower().replace(' ', '_')}_{i:03d}.{fmt}"
            )
    return root


# The results CSV contract for a model trained on CLASS_COLOURS, spelled out literally.
CSV_HEADER = ["file", "label", "confidence", "prob_Blue Sky", "prob_Red", "prob_green", "error"]


def read_csv(path: Path) -> list[list[str]]:
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def sky_frame(rng: np.random.Generator, kind: str, shape=(48, 64)) -> np.ndarray:
    """A float32 'telescope frame': noisy sky, a bright half (left or top) and a hot pixel.

    The hot pixel is far brighter than anything else, so a full-range (linear) stretch
    squashes the real structure while percentile-based stretches keep it.
    """
    height, width = shape
    data = rng.normal(1000.0, 20.0, shape).astype(np.float32)
    if kind == "left":
        data[:, : width // 2] += 400.0
    else:
        data[: height // 2, :] += 400.0
    data[rng.integers(height), rng.integers(width)] = 60000.0
    return data


def write_fits(path: Path, data: np.ndarray, header: dict | None = None, **kwargs) -> Path:
    """Write `data` as FITS; kwargs: extension=True (empty primary + ImageHDU named SCI),
    compressed=True (RICE tile compression, in an extension)."""
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    for key, value in (header or {}).items():
        primary.header[key] = value
    if kwargs.get("compressed"):
        hdus = [primary, fits.CompImageHDU(data, compression_type="RICE_1", name="SCI")]
    elif kwargs.get("extension"):
        hdus = [primary, fits.ImageHDU(data, name="SCI")]
    else:
        primary.data = data
        hdus = [primary]
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def make_fits_dataset(root: Path, per_class: int = 20, seed: int = 0) -> Path:
    """Two classes of float FITS frames that differ by where the bright half is."""
    rng = np.random.default_rng(seed)
    for kind in ("left", "top"):
        for i in range(per_class):
            write_fits(root / f"{kind}_bright" / f"{kind}_{i:03d}.fits", sky_frame(rng, kind))
    return root
