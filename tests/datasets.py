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
