"""The test suite's own corpus of hostile files, made on the fly: each entry is a file an
attacker or an unlucky disk could put in a folder, with the kind of problem it must give."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import socket
from pathlib import Path

import numpy as np
from PIL import Image

SPARSE_BYTES = 4 << 30  # a 4 GB file that takes no disk space
# The corpus is read with this pixel limit (80 MB per file), so the bomb trips it in a second.
MAX_PIXELS = 10_000_000
BIG_PNG_SIDE = 3000  # 9 megapixels of one grey: a 10 kB file that inflates to 27 MB of RGB
NON_UTF8_NAME = b"bad\xff\xfe.png"


def fits_bytes(pixels: np.ndarray) -> bytes:
    from astropy.io import fits

    buffer = io.BytesIO()
    fits.PrimaryHDU(pixels).writeto(buffer)
    return buffer.getvalue()


def gzip_fits_bomb(megabytes: int = 96) -> bytes:
    """A .fits.gz whose header is small but whose gzip stream inflates to `megabytes` MB."""
    header = fits_bytes(np.zeros((8, 8), dtype=np.uint8))[:2880]
    return gzip.compress(header + bytes(megabytes << 20), 9)


def big_png(shade: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (BIG_PNG_SIDE, BIG_PNG_SIDE), shade).save(buffer, "PNG")
    return buffer.getvalue()


def small_png(colour=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 20), colour).save(buffer, "PNG")
    return buffer.getvalue()


def make_hostile_files(folder: Path, stack: contextlib.ExitStack) -> dict[str, str]:
    """Create the corpus in `folder`; returns {file name: expected problem kind, or "" when the
    file is a good image}. Sockets stay bound until `stack` closes."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.png")
    os.mkfifo(folder / "pipe.fits")  # FITS headers are read by name: never from a pipe
    with contextlib.chdir(folder):  # a socket path must be short: bind it relative
        server = socket.socket(socket.AF_UNIX)
        server.bind("socket.jpg")
    stack.callback(server.close)
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "dev-link.fits").symlink_to("/dev/null")
    with open(folder / "sparse.tif", "wb") as f:
        f.truncate(SPARSE_BYTES)
    with open(os.path.join(os.fsencode(folder), NON_UTF8_NAME), "wb") as f:
        f.write(small_png())
    (folder / "inflates.png").write_bytes(big_png())
    (folder / "bomb.fits.gz").write_bytes(gzip_fits_bomb())
    return {
        "pipe.png": "not_a_file",
        "pipe.fits": "not_a_file",
        "socket.jpg": "not_a_file",
        "zero.png": "not_a_file",
        "dev-link.fits": "not_a_file",
        "sparse.tif": "too_large",
        os.fsdecode(NON_UTF8_NAME): "",
        "inflates.png": "",
        "bomb.fits.gz": "too_large",
    }
