"""The one image loader: training, classification and thumbnails all decode through here.

Every failure becomes an ImageError with a kind the scan and the batch results report; nothing
is silently replaced by a grey image (Pillow's LOAD_TRUNCATED_IMAGES stays off).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from classifier.errors import ImageError

# Lower-case suffixes Sortscope reads; anything else in a dataset is counted and ignored.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
)
PILLOW_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "GIF", "TIFF", "WEBP"})

# Explicit, configurable decompression-bomb guard, checked from the header before any decoding.
DEFAULT_MAX_PIXELS = 200_000_000
# Our own check replaces Pillow's global one, so a caller's higher limit is honoured.
Image.MAX_IMAGE_PIXELS = None

# Transparent pixels are composited onto this fixed colour so the same file always looks the same.
BACKGROUND = (255, 255, 255)


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


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


def content_digest(data: bytes) -> str:
    """A short content hash: same bytes, same key, wherever the file lives."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Parse the header only and check the size, without decoding pixels."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ImageError(
            "corrupt",
            "This is not an image Sortscope can read (the content is not JPEG, PNG, BMP, GIF, "
            "TIFF or WebP, or it is damaged).",
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
        raise ImageError(
            "too_large",
            f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), "
            f"above the limit of {max_pixels / 1e6:.0f} megapixels that protects against "
            "decompression bombs.",
            "Shrink the image, or raise the pixel limit if you trust the file.",
        )
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
    data: bytes, size_hint: tuple[int, int] | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Decode to an upright 8-bit RGB image.

    `size_hint` lets JPEGs decode at a reduced DCT scale (Pillow's draft) when the caller only
    needs a small image, so a 24-megapixel photo is never fully decoded to make 224x224.
    """
    image = open_image(data, max_pixels)
    try:
        if size_hint is not None and image.format in ("JPEG", "MPO"):
            image.draft("RGB", size_hint)
        image.load()
        image = ImageOps.exif_transpose(image)
        return _to_rgb(image)
    except ImageError:
        raise
    except Exception as exc:
        raise _decode_error(exc) from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _stretch_to_8bit(image)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def _stretch_to_8bit(image: Image.Image) -> Image.Image:
    """Map high-bit-depth data linearly onto 0..255 using its own range, so nothing clips."""
    array = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.any():
        array = np.zeros(array.shape)
    else:
        low, high = array[finite].min(), array[finite].max()
        array = np.where(finite, array, low)
        array = (array - low) * (255.0 / (high - low)) if high > low else np.zeros(array.shape)
    gray = Image.fromarray(np.round(array).astype(np.uint8), mode="L")
    return gray.convert("RGB")


def to_model_input(image: Image.Image, size: int) -> np.ndarray:
    """Resize the whole image to size x size (as retrain.py did) and return uint8 HxWx3."""
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(image, dtype=np.uint8)


def load_for_model(
    path: Path, size: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, str]:
    """Read, hash and decode one file for a backbone of input `size`: (pixels, digest)."""
    data = read_file(path)
    return decode_for_model(data, size, max_pixels), content_digest(data)


def decode_for_model(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    return to_model_input(decode_rgb(data, (size, size), max_pixels), size)


def load_thumbnail(
    path: Path, max_side: int = 160, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """An upright RGB thumbnail keeping the aspect ratio, for browsing and previews."""
    image = decode_rgb(read_file(path), (max_side, max_side), max_pixels)
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return image


def verify(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, str, str]:
    """Prove an image decodes (JPEGs cheaply, at 1/8 scale); return width, height, mode, format."""
    header = open_image(data, max_pixels)
    info = (header.width, header.height, header.mode, header.format or "")
    decode_rgb(data, (1, 1), max_pixels)
    return info
