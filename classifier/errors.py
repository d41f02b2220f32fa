"""Errors a user can cause, phrased for them: what happened, and what to do about it."""

from __future__ import annotations

from enum import StrEnum


class SortscopeError(Exception):
    """An error with a plain-words explanation and advice; never shown as a traceback."""

    def __init__(self, what: str, todo: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.todo = todo

    def __str__(self) -> str:
        return f"{self.what} {self.todo}".strip()


class DatasetError(SortscopeError):
    """The dataset folder cannot be used as it is."""


class ImageErrorKind(StrEnum):
    """Why one file cannot be used; the text is what scans, CSVs and JSON reports show."""

    EMPTY_FILE = "empty_file"
    UNREADABLE = "unreadable"
    NOT_A_FILE = "not_a_file"  # a FIFO, socket, device or folder: never opened for reading
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    TOO_LARGE = "too_large"
    OUT_OF_MEMORY = "out_of_memory"
    NO_DATA = "no_data"  # e.g. a FITS file without an image, or with only NaN pixels


class ImageError(SortscopeError):
    """One image cannot be read; callers report it and carry on."""

    def __init__(self, kind: ImageErrorKind, what: str, todo: str = "") -> None:
        super().__init__(what, todo)
        self.kind = ImageErrorKind(kind)


def too_large(width: int, height: int, max_pixels: int) -> ImageError:
    """The decompression-bomb guard's refusal, the same for every format."""
    return ImageError(
        ImageErrorKind.TOO_LARGE,
        f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), "
        f"above the limit of {max_pixels / 1e6:.0f} megapixels that protects against "
        "decompression bombs.",
        "Shrink the image; or, if you trust the file, raise the limit with the command line's "
        "--max-pixels option (sortscope scan/train/classify --max-pixels N).",
    )


class BackboneUnavailable(SortscopeError):
    """The chosen pretrained network cannot be loaded on this machine."""


class Cancelled(Exception):
    """Raised inside long jobs when the user cancels; not an error."""
