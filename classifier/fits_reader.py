"""FITS files (plain, gzip'd, tile-compressed), read with astropy and never with Pillow.

Only the bytes already read are parsed, so the loader keeps one read per file and the content
digest stays the cache key. Gzip is unpacked here with a size limit (a decompression bomb stops
at the limit instead of filling memory), and a file shorter than its header promises is
reported as truncated instead of being padded with zeros.
"""

from __future__ import annotations

import contextlib
import io
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier import memory
from classifier.errors import ImageError, ImageErrorKind, too_large

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz", ".fts.gz")
MAGIC = b"SIMPLE  ="
GZIP_MAGIC = b"\x1f\x8b"
HEADER_SLACK = 64 * 2880  # bytes of headers allowed on top of the pixel data when unpacking gzip

_warnings_muted = False


@dataclass(frozen=True)
class FitsImage:
    data: np.ndarray  # 2-D, as stored (scaled integers already applied by astropy)
    bitpix: int
    hdu_index: int
    note: str = ""  # e.g. "first plane of a 3-D cube", for the scan to report


def is_fits_name(name: str) -> bool:
    return name.lower().endswith(FITS_SUFFIXES)


def is_fits(data: bytes) -> bool:
    """Decide by content, so a FITS file with any name never reaches Pillow."""
    if data.startswith(MAGIC):
        return True
    if data.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(wbits=31).decompress(data[:4096], len(MAGIC))
        except zlib.error:
            return False
        return head == MAGIC
    return False


def _fits_module():
    from astropy.io import fits

    global _warnings_muted
    if not _warnings_muted:
        # astropy warns about non-standard headers; problems we care about are checked
        # explicitly. Set once here: warning filters are process-wide, not per thread.
        from astropy.utils.exceptions import AstropyWarning

        warnings.filterwarnings("ignore", category=AstropyWarning)
        _warnings_muted = True
    return fits


def _truncated() -> ImageError:
    return ImageError(
        ImageErrorKind.TRUNCATED,
        "The FITS file is truncated: its end is missing.",
        "It was probably not copied or downloaded completely; copy it again.",
    )


def _corrupt(detail: str) -> ImageError:
    return ImageError(
        ImageErrorKind.CORRUPT,
        f"The FITS file is damaged and cannot be read ({detail}).",
        "Open it in DS9 or another FITS viewer; replace it from the original or delete it.",
    )


def _gunzip(data: bytes, max_pixels: int, on_large: Callable[[int], object] = int) -> bytes:
    """Inflate with the limit checked as it goes; `on_large(limit)` is called once the output
    is large work for the memory budget, before the rest is inflated."""
    limit = max_pixels * 8 + HEADER_SLACK  # 8 bytes per pixel covers every BITPIX
    unpacker = zlib.decompressobj(wbits=31)
    try:
        pieces = [unpacker.decompress(data, min(limit, memory.BUDGET.large_bytes))]
        if unpacker.unconsumed_tail and len(pieces[0]) < limit:
            on_large(limit)
        while unpacker.unconsumed_tail and (done := sum(map(len, pieces))) < limit:
            pieces.append(unpacker.decompress(unpacker.unconsumed_tail, min(limit - done, 1 << 26)))
    except zlib.error as exc:
        raise _corrupt(f"gzip: {exc}") from exc
    if unpacker.unconsumed_tail:
        raise _too_large_unpacked(limit)
    if not unpacker.eof:
        raise _truncated()
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


@contextlib.contextmanager
def _unpacked(data: bytes, max_pixels: int) -> Iterator[bytes]:
    """The FITS bytes, gunzipped if need be: a gzip file that inflates to large work holds a
    share of the memory budget while it is inflated and parsed (the unpacked bytes, astropy's
    copy and ours)."""
    if not data.startswith(GZIP_MAGIC):
        yield data
        return
    with contextlib.ExitStack() as held:
        yield _gunzip(data, max_pixels, lambda limit: held.enter_context(memory.reserve(3 * limit)))


def _too_large_unpacked(limit: int) -> ImageError:
    return ImageError(
        ImageErrorKind.TOO_LARGE,
        f"The compressed FITS file unpacks to more than {limit / 1e9:.1f} GB, above the pixel "
        "limit that protects against decompression bombs.",
        "If you trust the file, unpack it yourself (gunzip), or raise the limit with the "
        "command line's --max-pixels option.",
    )


def _open(raw: bytes):
    fits = _fits_module()
    try:
        hdul = fits.open(io.BytesIO(raw), memmap=False, lazy_load_hdus=False)
    except MemoryError:
        raise
    except Exception as exc:  # astropy raises OSError, ValueError, KeyError... for bad headers
        raise _corrupt(str(exc) or type(exc).__name__) from exc
    if not hdul:
        raise _corrupt("no header")
    return hdul


def _has_image(hdu) -> bool:
    return getattr(hdu, "is_image", False) and len(hdu.shape) >= 2 and 0 not in hdu.shape


def _choose(hdul, hdu: str | int | None):
    if hdu is None:
        for index, candidate in enumerate(hdul):
            if _has_image(candidate):
                return index, candidate
        raise ImageError(
            ImageErrorKind.NO_DATA,
            "The FITS file holds no 2-D image in any of its extensions.",
            "Check that it is an image and not a table or spectrum.",
        )
    try:
        index = hdu if isinstance(hdu, int) else hdul.index_of(hdu)
        chosen = hdul[index]
    except (KeyError, IndexError) as exc:
        names = ", ".join(f"{i}:{h.name}" for i, h in enumerate(hdul))
        raise ImageError(
            ImageErrorKind.NO_DATA,
            f"The FITS file has no extension {hdu!r} (it has {names}).",
            "Choose another extension in the settings, or leave it empty to use the first image.",
        ) from exc
    if not _has_image(chosen):
        raise ImageError(
            ImageErrorKind.NO_DATA,
            f"FITS extension {hdu!r} holds no 2-D image.",
            "Choose another extension, or leave it empty to use the first image.",
        )
    return index, chosen


def read_fits(
    data: bytes, hdu: str | int | None = None, max_pixels: int = 200_000_000
) -> FitsImage:
    """The chosen image of a FITS file (first image extension by default), checked."""
    with _unpacked(data, max_pixels) as raw, _open(raw) as hdul:
        index, chosen = _choose(hdul, hdu)
        shape = tuple(chosen.shape)
        if shape[-2] * shape[-1] > max_pixels:
            raise too_large(shape[-1], shape[-2], max_pixels)
        info = chosen.fileinfo()
        if info is not None and info["datLoc"] + info["datSpan"] > len(raw):
            raise _truncated()
        try:
            pixels = chosen.section[(0,) * (len(shape) - 2)] if len(shape) > 2 else chosen.data
            pixels = np.array(pixels)  # own the memory: the file closes below
        except MemoryError:
            raise
        except Exception as exc:
            raise _corrupt(str(exc) or type(exc).__name__) from exc
        bitpix = int(chosen.header.get("ZBITPIX", chosen.header.get("BITPIX", 0)))
    note = ""
    if len(shape) > 2:
        planes = "x".join(str(n) for n in shape[:-2])
        note = f"a data cube ({planes} planes of {shape[-1]}x{shape[-2]}); the first plane is used"
    # FITS stores the bottom row first; flip so images look as they do in DS9.
    return FitsImage(np.flipud(pixels), bitpix, index, note)


def header_values(
    source: bytes | Path,
    keys: Sequence[str],
    hdu: str | int | None = None,
    max_pixels: int = 200_000_000,
) -> dict[str, str]:
    """Values of header keywords, from the image's extension or else the primary header.

    Keywords that are missing give "", so every row of a results table has every column.
    Given a path, only the headers are read (astropy skips the pixel data), so adding header
    columns to a run whose features are cached does not read every frame whole.
    """
    try:
        with _open_headers(source, max_pixels) as hdul:
            try:
                _, chosen = _choose(hdul, hdu)
                headers = [chosen.header, hdul[0].header]
            except ImageError:
                headers = [hdul[0].header]
            return {key: _value(headers, key) for key in keys}
    except ImageError:
        raise
    except Exception as exc:  # a damaged header further into the file
        raise _corrupt(str(exc) or type(exc).__name__) from exc


def _open_headers(source: bytes | Path, max_pixels: int):
    if isinstance(source, bytes):
        return _open(_gunzip(source, max_pixels) if source.startswith(GZIP_MAGIC) else source)
    fits = _fits_module()
    try:
        return fits.open(source, memmap=False, lazy_load_hdus=True)
    except Exception as exc:  # astropy raises many types for bad headers
        raise _corrupt(str(exc) or type(exc).__name__) from exc


def _value(headers, key: str) -> str:
    for header in headers:
        if key in header:
            value = header[key]
            return "" if value is None else str(value)
    return ""


def parse_keys(text: str) -> list[str]:
    """'DATE-OBS, filter,EXPTIME' -> ['DATE-OBS', 'FILTER', 'EXPTIME'], duplicates dropped."""
    keys: list[str] = []
    for part in text.split(","):
        key = part.strip().upper()
        if key and key not in keys:
            keys.append(key)
    return keys
