"""How scientific data (FITS, 16-bit and float images) becomes the 8-bit pixels a backbone sees.

Ordinary 8-bit images are used as they are. Data with more range is mapped deliberately by a
stretch, and the stretch is part of a model: it is stored in the model file and applied
identically when classifying, so a model never sees data prepared differently from its training.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from classifier.errors import ImageError, ImageErrorKind, SortscopeError

DEFAULT_LOW_PERCENT = 0.5  # clip points of the percentile and asinh stretches
DEFAULT_HIGH_PERCENT = 99.5
# name -> what it does, for the GUI and `--help`
STRETCHES = {
    "auto": "asinh for FITS, percentile clip for 16-bit and float TIFF/PNG",
    "linear": "the full range from the darkest to the brightest pixel",
    "percentile": f"linear between two percentiles (default {DEFAULT_LOW_PERCENT:g} and "
    f"{DEFAULT_HIGH_PERCENT:g} %), clipping outliers",
    "asinh": "percentile clip, then an asinh curve that keeps faint and bright detail",
    "zscale": "IRAF/DS9 zscale around the background, for faint structure",
}
ASINH_SOFTENING = 0.1  # astropy's AsinhStretch default: linear below ~10 % of the range
SAMPLE_PIXELS = 1_000_000  # statistics use an even grid of at most this many pixels
# Pillow modes holding more than 8 bits per pixel; FITS data always counts as high-range.
_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f/\\:*?"<>|]')
HIGH_RANGE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
# How JPEGs are decoded for a model (its `input.decode`): Pillow's draft picks the strongest DCT
# reduction (1/2, 1/4, 1/8) that keeps at least this fraction of the input size on each side,
# then the whole image is resized. A model records its rule; files without one used "draft".
DECODES = {"draft": 1.0, "draft75": 0.75}
DEFAULT_DECODE = "draft"
FAST_DECODE = "draft75"  # 1024x768 decodes at 1/4 scale (256x192), not 1/2 (512x384)


def is_high_range(mode: str, fmt: str) -> bool:
    """Whether an image of this mode and format goes through the stretch."""
    return fmt == "FITS" or mode in HIGH_RANGE_MODES


@dataclass(frozen=True)
class Preprocessing:
    """Part of a model: which FITS extension to read and how to stretch high-range data."""

    stretch: str = "auto"
    low_percent: float = DEFAULT_LOW_PERCENT  # used by the percentile and asinh stretches
    high_percent: float = DEFAULT_HIGH_PERCENT
    hdu: str | int | None = None  # FITS extension by name or index; None: first with an image

    def __post_init__(self) -> None:
        if self.stretch not in STRETCHES:
            raise SortscopeError(
                f"'{self.stretch}' is not a stretch Sortscope knows.",
                f"Use one of: {', '.join(STRETCHES)}.",
            )
        if not 0.0 <= self.low_percent < self.high_percent <= 100.0:
            raise SortscopeError(
                f"The percentiles {self.low_percent:g} and {self.high_percent:g} are not "
                "0 <= low < high <= 100.",
                f"Use e.g. {DEFAULT_LOW_PERCENT:g} and {DEFAULT_HIGH_PERCENT:g}.",
            )

    @property
    def is_default(self) -> bool:
        return self == Preprocessing()

    @property
    def key(self) -> str:
        """A short, file-name-safe text that differs whenever the pixels could differ."""
        hdu = "" if self.hdu is None else f"-hdu{self.hdu}"
        # The extension name is typed by users or read from model files: never a separator.
        return _UNSAFE_IN_NAMES.sub(
            "_", f"{self.stretch}-{self.low_percent:g}-{self.high_percent:g}{hdu}"
        )

    def summary(self) -> str:
        """In words, for model cards and logs: 'asinh (0.5–99.5 %), FITS extension SCI'."""
        clip = f"{self.low_percent:g}–{self.high_percent:g} %"
        if self.stretch == "auto":
            text = f"auto (asinh for FITS, percentile for 16-bit; clip {clip})"
        elif self.stretch in ("percentile", "asinh"):
            text = f"{self.stretch} ({clip})"
        else:
            text = self.stretch
        if self.hdu is not None:
            text += f", FITS extension {self.hdu}"
        return text

    def to_json(self) -> dict:
        return {
            "stretch": self.stretch,
            "low_percent": self.low_percent,
            "high_percent": self.high_percent,
            "hdu": self.hdu,
        }


def parse_hdu(text: str | None) -> str | int | None:
    """'' -> first image extension, '1' -> index 1, 'SCI' -> the extension named SCI."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def sample(data: np.ndarray) -> np.ndarray:
    """An even grid of at most SAMPLE_PIXELS pixels: the same for the same image, always."""
    step = max(1, int(np.ceil(np.sqrt(data.size / SAMPLE_PIXELS))))
    return data[::step, ::step]


def fill_invalid(data: np.ndarray) -> np.ndarray:
    """Float copy with NaN/inf replaced by the median of the valid pixels (the background)."""
    integers = np.asarray(data).dtype.kind in "iub"  # always finite: skip the check
    data = np.asarray(data, dtype=np.float32)
    if integers:
        return data
    finite = np.isfinite(data)
    if finite.all():
        return data
    if not finite.any():
        raise ImageError(
            ImageErrorKind.NO_DATA,
            "The image holds no valid pixels (every value is NaN or infinite).",
            "The frame is probably blank or failed in the pipeline; remove it.",
        )
    return np.where(finite, data, np.median(data[finite]))


def limits(data: np.ndarray, prep: Preprocessing, method: str) -> tuple[float, float]:
    """The data values that become black and white."""
    grid = sample(data)
    if method == "linear":
        return float(grid.min()), float(grid.max())
    if method == "zscale":
        from astropy.visualization import ZScaleInterval

        low, high = ZScaleInterval().get_limits(grid)
        return float(low), float(high)
    low, high = np.percentile(grid, [prep.low_percent, prep.high_percent])
    return float(low), float(high)


def resolve(prep: Preprocessing, is_fits: bool) -> str:
    if prep.stretch != "auto":
        return prep.stretch
    return "asinh" if is_fits else "percentile"


def shrink(data: np.ndarray, size_hint: tuple[int, int] | None) -> np.ndarray:
    """Average whole blocks of pixels while the result stays at least twice `size_hint`.

    Like a JPEG draft, this spares stretching millions of pixels to make a 224x224 input. It
    depends only on the image and the hint, so training and classifying shrink identically.
    """
    if size_hint is None:
        return data
    height, width = data.shape
    factor = min(height // (2 * max(1, size_hint[1])), width // (2 * max(1, size_hint[0])))
    if factor < 2:
        return data
    # Pillow's box reduction: several times faster than NumPy's reshape-and-mean.
    image = Image.fromarray(np.ascontiguousarray(data, dtype=np.float32), mode="F")
    return np.asarray(image.reduce(factor))


def stretch_to_8bit(
    data: np.ndarray,
    prep: Preprocessing,
    is_fits: bool,
    size_hint: tuple[int, int] | None = None,
) -> np.ndarray:
    """Map a 2-D array of any numeric type to uint8 with the chosen stretch."""
    data = shrink(fill_invalid(data), size_hint)
    method = resolve(prep, is_fits)
    low, high = limits(data, prep, method)
    if high <= low:
        return np.zeros(data.shape, dtype=np.uint8)  # a flat frame: nothing to show
    scaled = np.clip((data - low) / (high - low), 0.0, 1.0)
    if method == "asinh":
        scaled = np.arcsinh(scaled / ASINH_SOFTENING) / np.arcsinh(1.0 / ASINH_SOFTENING)
    return np.round(scaled * 255.0).astype(np.uint8)
