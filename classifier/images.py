"""The one image loader: training, classification and thumbnails all decode through here.

Every failure becomes an ImageError with a kind the scan and the batch results report; nothing
is silently replaced by a grey image (Pillow's LOAD_TRUNCATED_IMAGES stays off).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from classifier import fits_reader
from classifier.errors import ImageError, too_large
from classifier.preprocessing import (
    HIGH_RANGE_MODES,
    Preprocessing,
    fill_invalid,
    stretch_to_8bit,
)

# Lower-case suffixes Sortscope reads; anything else in a dataset is counted and ignored.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
)
PILLOW_OPENERS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")  # Pillow plugins allowed to parse
PILLOW_FORMATS = frozenset({*PILLOW_OPENERS, "MPO"})  # MPO: multi-picture JPEGs, found by JPEG

# Explicit, configurable decompression-bomb guard, checked from the header before any decoding.
DEFAULT_MAX_PIXELS = 200_000_000
# Our own check replaces Pillow's global one, so a caller's higher limit is honoured.
Image.MAX_IMAGE_PIXELS = None

# Transparent pixels are composited onto this fixed colour so the same file always looks the same.
BACKGROUND = (255, 255, 255)
DEFAULT_PREPROCESSING = Preprocessing()


@dataclass(frozen=True)
class ImageInfo:
    """What a check learned about a readable file, before any resizing."""

    width: int
    height: int
    mode: str  # Pillow's mode, or "BITPIX=-32" and the like for FITS
    format: str
    note: str = ""  # something the user should know although the file is usable


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS or fits_reader.is_fits_name(name)


def read_file(path: Path) -> bytes:
    """Read a whole file, turning OS failures and empty files into ImageError."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageError(
            "unreadable",
            f"The file could not be read ({exc.strerror or exc}).",
            "Check that it still exists and that you have permission to read it.",
        ) from exc
    if not data:
        raise ImageError(
            "empty_file",
            "The file is empty (0 bytes).",
            "It was probably not copied completely; copy it again or delete it.",
        )
    return data


def read_ahead(paths: Iterable[Path]) -> None:
    """Ask the operating system to start loading these files into its cache, without waiting:
    by the time a worker reads one, a slow disk or network share has already delivered it.
    A no-op where the OS has no such call (Windows, macOS) or a file cannot be opened."""
    if not hasattr(os, "posix_fadvise"):
        return
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # reading it later reports the problem properly
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def content_digest(data: bytes) -> str:
    """A short content hash: same bytes, same key, wherever the file lives."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Parse the header only and check the size, without decoding pixels."""
    try:
        # Only the formats below are parsed: Pillow's other plugins (its FITS reader among them)
        # never see a file, whatever it is named.
        image = Image.open(io.BytesIO(data), formats=PILLOW_OPENERS)
    except UnidentifiedImageError as exc:
        raise ImageError(
            "corrupt",
            "This is not an image Sortscope can read (the content is not JPEG, PNG, BMP, GIF, "
            "TIFF, WebP or FITS, or it is damaged).",
            "Open it in an image viewer; if it does not open there either, delete or replace it.",
        ) from exc
    except Exception as exc:  # Pillow raises many types for damaged headers
        raise _decode_error(exc) from exc
    if image.format not in PILLOW_FORMATS:
        raise ImageError(
            "corrupt",
            f"The file holds a {image.format} image, which Sortscope does not read.",
            "Convert it to PNG or JPEG.",
        )
    width, height = image.size
    if width * height > max_pixels:
        raise too_large(width, height, max_pixels)
    return image


def _decode_error(exc: Exception) -> ImageError:
    text = str(exc)
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return ImageError(
            "truncated",
            "The image file is truncated: its end is missing.",
            "It was probably not copied or downloaded completely; copy it again.",
        )
    return ImageError(
        "corrupt",
        f"The image data is damaged and cannot be decoded ({text or type(exc).__name__}).",
        "Open it in an image viewer; replace it from the original or delete it.",
    )


def decode_rgb(
    data: bytes,
    size_hint: tuple[int, int] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prep: Preprocessing = DEFAULT_PREPROCESSING,
) -> Image.Image:
    """Decode to an upright 8-bit RGB image; FITS and high-range data through `prep`'s stretch.

    `size_hint` lets JPEGs decode at a reduced DCT scale (Pillow's draft), and high-range data
    be averaged down before stretching, when the caller only needs a small image: a
    24-megapixel photo is never fully decoded to make 224x224.
    """
    if fits_reader.is_fits(data):
        frame = fits_reader.read_fits(data, prep.hdu, max_pixels)
        return _gray_to_rgb(stretch_to_8bit(frame.data, prep, True, size_hint))
    image = open_image(data, max_pixels)
    try:
        if size_hint is not None and image.format in ("JPEG", "MPO"):
            image.draft("RGB", size_hint)
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in HIGH_RANGE_MODES:
            return _gray_to_rgb(stretch_to_8bit(np.asarray(image), prep, False, size_hint))
        return _to_rgb(image)
    except ImageError:
        raise
    except Exception as exc:
        raise _decode_error(exc) from exc


def _gray_to_rgb(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(pixels, mode="L").convert("RGB")


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def to_model_input(image: Image.Image, size: int) -> np.ndarray:
    """Resize the whole image to size x size (as retrain.py did) and return uint8 HxWx3."""
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(image, dtype=np.uint8)


def load_for_model(
    path: Path,
    size: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prep: Preprocessing = DEFAULT_PREPROCESSING,
) -> tuple[np.ndarray, str]:
    """Read, hash and decode one file for a backbone of input `size`: (pixels, digest)."""
    data = read_file(path)
    return decode_for_model(data, size, max_pixels, prep), content_digest(data)


def decode_for_model(
    data: bytes,
    size: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prep: Preprocessing = DEFAULT_PREPROCESSING,
) -> np.ndarray:
    return to_model_input(decode_rgb(data, (size, size), max_pixels, prep), size)


def load_thumbnail(
    path: Path,
    max_side: int = 160,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prep: Preprocessing = DEFAULT_PREPROCESSING,
) -> Image.Image:
    """An upright RGB thumbnail keeping the aspect ratio, for browsing and previews."""
    image = decode_rgb(read_file(path), (max_side, max_side), max_pixels, prep)
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return image


def verify(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, hdu: str | int | None = None
) -> ImageInfo:
    """Prove an image decodes (JPEGs cheaply, at 1/8 scale) and describe it."""
    if fits_reader.is_fits(data):
        frame = fits_reader.read_fits(data, hdu, max_pixels)
        fill_invalid(frame.data)  # an all-NaN frame is unusable
        height, width = frame.data.shape
        return ImageInfo(width, height, f"BITPIX={frame.bitpix}", "FITS", frame.note)
    header = open_image(data, max_pixels)
    info = ImageInfo(header.width, header.height, header.mode, header.format or "")
    decode_rgb(data, (1, 1), max_pixels)
    return info
