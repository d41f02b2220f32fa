"""The one image loader: training, classification and thumbnails all decode through here.

Every failure becomes an ImageError with a kind the scan and the batch results report; nothing
is silently replaced by a grey image (Pillow's LOAD_TRUNCATED_IMAGES stays off).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from classifier import fits_reader, memory
from classifier.errors import ImageError, ImageErrorKind, too_large
from classifier.preprocessing import (
    DECODES,
    DEFAULT_DECODE,
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

DEFAULT_MAX_PIXELS = memory.DEFAULT_MAX_PIXELS
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


def max_file_bytes(max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """The largest file read at all: an uncompressed image at the pixel limit (8 bytes per
    pixel covers every FITS BITPIX) and its headers."""
    return max_pixels * 8 + fits_reader.HEADER_SLACK


def _regular_size(path: Path, limit: int) -> int:
    """The size of a regular file (after symlinks) within `limit`, from one stat; a FIFO,
    socket, device or folder is refused here and never opened."""
    return _regular_stat(path, limit).st_size


def _regular_stat(path: Path, limit: int) -> os.stat_result:
    """_regular_size's stat, whole (the digest index records it)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _unreadable(exc) from exc
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(
            ImageErrorKind.NOT_A_FILE,
            "This is not a regular file (it is a folder, a device, a pipe or a socket, or a "
            "link to one), so it is not read.",
            "Remove it from the folder, or replace it with a copy of the image it stands for.",
        )
    if info.st_size > limit:
        raise _file_too_large(info.st_size, limit)
    return info


def _unreadable(exc: OSError) -> ImageError:
    return ImageError(
        ImageErrorKind.UNREADABLE,
        f"The file could not be read ({exc.strerror or exc}).",
        "Check that it still exists and that you have permission to read it.",
    )


def _file_too_large(size: int, limit: int) -> ImageError:
    return ImageError(
        ImageErrorKind.TOO_LARGE,
        f"The file is {size / 1e9:.1f} GB or more, larger than any image within the pixel limit "
        f"could be ({limit / 1e9:.1f} GB), so it is not read.",
        "Check that it really is an image; raise the pixel limit (--max-pixels) if you trust "
        "the file.",
    )


# O_NONBLOCK: a file swapped for a FIFO after its stat cannot block the open (POSIX only).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


def _read(path: Path, size: int, limit: int) -> bytes:
    # The stat's size in one read, then whatever the file grew by since, but never more than
    # limit + 1 bytes. os.read costs half of open().read() for a small file, and the
    # warm-cache path is little else.
    want, step = limit + 1, min(size, limit) + 1
    chunks: list[bytes] = []
    try:
        fd = os.open(path, _OPEN_FLAGS)
        try:
            while want > 0 and (chunk := os.read(fd, min(want, step))):
                chunks.append(chunk)
                want -= len(chunk)
                step = 1 << 20
        finally:
            os.close(fd)
    except OSError as exc:
        raise _unreadable(exc) from exc
    except MemoryError as exc:
        raise memory.out_of_memory() from exc
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if len(data) > limit:
        raise _file_too_large(len(data), limit)
    if not data:
        raise ImageError(
            ImageErrorKind.EMPTY_FILE,
            "The file is empty (0 bytes).",
            "It was probably not copied completely; copy it again or delete it.",
        )
    return data


def read_file(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Read a whole regular file of at most max_file_bytes(max_pixels), turning OS failures,
    other kinds of file and empty files into ImageError."""
    limit = max_file_bytes(max_pixels)
    return _read(path, _regular_size(path, limit), limit)


class reading:  # lower case: used like a function, `with reading(path) as data:`
    """read_file's bytes, for decoding inside the `with` block: a large file holds its share of
    the memory budget (for its bytes and their decoding) until the block ends. A class, not a
    generator, so the common small file costs no more than read_file. `info` is the stat taken
    before the read (what the digest index records)."""

    __slots__ = ("_held", "info", "max_pixels", "path")

    def __init__(self, path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.path = path
        self.max_pixels = max_pixels
        self.info: os.stat_result | None = None
        self._held = None

    def __enter__(self) -> bytes:
        limit = max_file_bytes(self.max_pixels)
        self.info = _regular_stat(self.path, limit)
        size = self.info.st_size
        if 4 * size > memory.BUDGET.large_bytes:
            self._held = memory.reserve(4 * size)
            self._held.__enter__()
        try:
            return _read(self.path, size, limit)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, *exc_info) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.__exit__(None, None, None)


def read_ahead(paths: Iterable[Path]) -> None:
    """Ask the operating system to start loading these files into its cache, without waiting:
    by the time a worker reads one, a slow disk or network share has already delivered it.
    A no-op where the OS has no such call (Windows, macOS), for anything but a regular file
    (a FIFO would block the open) or where a file cannot be opened."""
    if not hasattr(os, "posix_fadvise"):
        return
    for path in paths:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                continue  # reading it later reports the problem properly
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
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
            ImageErrorKind.CORRUPT,
            "This is not an image Sortscope can read (the content is not JPEG, PNG, BMP, GIF, "
            "TIFF, WebP or FITS, or it is damaged).",
            "Open it in an image viewer; if it does not open there either, delete or replace it.",
        ) from exc
    except Exception as exc:  # Pillow raises many types for damaged headers
        raise _decode_error(exc) from exc
    if image.format not in PILLOW_FORMATS:
        raise ImageError(
            ImageErrorKind.CORRUPT,
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
            ImageErrorKind.TRUNCATED,
            "The image file is truncated: its end is missing.",
            "It was probably not copied or downloaded completely; copy it again.",
        )
    return ImageError(
        ImageErrorKind.CORRUPT,
        f"The image data is damaged and cannot be decoded ({text or type(exc).__name__}).",
        "Open it in an image viewer; replace it from the original or delete it.",
    )


def decode_rgb(
    data: bytes,
    size_hint: tuple[int, int] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prep: Preprocessing = DEFAULT_PREPROCESSING,
    decode: str = DEFAULT_DECODE,
) -> Image.Image:
    """Decode to an upright 8-bit RGB image; FITS and high-range data through `prep`'s stretch.

    `size_hint` lets JPEGs decode at a reduced DCT scale (Pillow's draft), and high-range data
    be averaged down before stretching, when the caller only needs a small image: a
    24-megapixel photo is never fully decoded to make 224x224. `decode` (a model's rule,
    preprocessing.DECODES) lets the JPEG draft keep less than the hint.
    """
    try:
        if fits_reader.is_fits(data):
            frame = fits_reader.read_fits(data, prep.hdu, max_pixels)
            return _gray_to_rgb(stretch_to_8bit(frame.data, prep, True, size_hint))
        image = open_image(data, max_pixels)
        if size_hint is not None and image.format in ("JPEG", "MPO"):
            fraction = DECODES[decode]
            image.draft("RGB", tuple(max(1, int(np.ceil(n * fraction))) for n in size_hint))
        # A small file may still inflate to a large image: such decodes share the budget.
        with memory.reserve(_decode_bytes(image)):
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy of an upright image
            if image.mode in HIGH_RANGE_MODES:
                return _gray_to_rgb(stretch_to_8bit(np.asarray(image), prep, False, size_hint))
            return _to_rgb(image)
    except ImageError:
        raise
    except MemoryError as exc:
        raise memory.out_of_memory() from exc
    except Exception as exc:
        raise _decode_error(exc) from exc


ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _decode_bytes(image: Image.Image) -> int:
    """About how much memory decoding `image` to RGB takes at its peak."""
    alpha = image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)
    per_pixel = memory.ALPHA_DECODE_BYTES_PER_PIXEL if alpha else memory.DECODE_BYTES_PER_PIXEL
    return image.width * image.height * per_pixel


def _gray_to_rgb(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(pixels, mode="L").convert("RGB")


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ALPHA_MODES:
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
    decode: str = DEFAULT_DECODE,
) -> tuple[np.ndarray, str]:
    """Read, hash and decode one file for a backbone of input `size`: (pixels, digest)."""
    with reading(path, max_pixels) as data:
        return decode_for_model(data, size, max_pixels, prep, decode), content_digest(data)


def decode_for_model(
    data: bytes,
    size: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prep: Preprocessing = DEFAULT_PREPROCESSING,
    decode: str = DEFAULT_DECODE,
) -> np.ndarray:
    return to_model_input(decode_rgb(data, (size, size), max_pixels, prep, decode), size)


def load_thumbnail(
    path: Path,
    max_side: int = 160,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prep: Preprocessing = DEFAULT_PREPROCESSING,
) -> Image.Image:
    """An upright RGB thumbnail keeping the aspect ratio, for browsing and previews."""
    with reading(path, max_pixels) as data:
        image = decode_rgb(data, (max_side, max_side), max_pixels, prep)
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return image


def verify(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, hdu: str | int | None = None
) -> ImageInfo:
    """Prove an image decodes (JPEGs cheaply, at 1/8 scale) and describe it."""
    if fits_reader.is_fits(data):
        try:
            frame = fits_reader.read_fits(data, hdu, max_pixels)
            fill_invalid(frame.data)  # an all-NaN frame is unusable
        except MemoryError as exc:
            raise memory.out_of_memory() from exc
        height, width = frame.data.shape
        return ImageInfo(width, height, f"BITPIX={frame.bitpix}", "FITS", frame.note)
    header = open_image(data, max_pixels)
    info = ImageInfo(header.width, header.height, header.mode, header.format or "")
    decode_rgb(data, (1, 1), max_pixels)
    return info
