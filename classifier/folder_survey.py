"""What a folder holds when it has no images to classify, in words that say what to do.

A folder whose images all lie in sub-folders (with sub-folders off), or that holds only other
files, must not "succeed" with zero results: the survey counts what is there instead, bounded in
files and time so a huge tree answers at once ("more than 10,000 images in sub-folders").
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from classifier import images
from classifier.errors import SortscopeError
from classifier.predict import list_image_files

COUNT_CAP = 10_000  # images in sub-folders counted at most: enough to say "more than"
FILE_CAP = 100_000  # entries looked at in all, whatever they are
SURVEY_SECONDS = 2.0  # a network share with a deep tree answers within this
SUBFOLDERS_HINT = "turn on Include sub-folders"  # the window's words; the CLI passes its own
IMAGE_KINDS = "JPEG, PNG, BMP, GIF, TIFF, WebP or FITS"


@dataclass(frozen=True)
class FolderSurvey:
    """Counts of what a folder without images (at the level looked at) holds."""

    folder: Path
    recursive: bool
    subfolder_images: int  # images below the top level (only counted when not recursive)
    other_files: int  # files that are not images, where images were looked for
    other_suffixes: tuple[str, ...]  # the most common of their extensions, most common first
    complete: bool  # False: counting stopped at a cap or the time limit
    has_subfolders: bool = False


def survey_folder(
    folder: str | Path,
    recursive: bool,
    count_cap: int = COUNT_CAP,
    file_cap: int = FILE_CAP,
    seconds: float = SURVEY_SECONDS,
) -> FolderSurvey:
    """Count sub-folder images and other files, stopping at the caps or after `seconds`."""
    folder = Path(folder)
    deadline = time.monotonic() + seconds
    sub_images = 0
    seen = 0
    suffixes: Counter[str] = Counter()
    complete = True
    has_subfolders = False
    walk = os.walk(folder)
    for dirpath, dirnames, filenames in walk:
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        top = Path(dirpath) == folder
        has_subfolders = has_subfolders or bool(dirnames)
        for name in filenames:
            if name.startswith("."):
                continue
            seen += 1
            if images.is_image_name(name):
                sub_images += 0 if top else 1
            elif top or recursive:
                suffixes[Path(name).suffix.lower() or "(no extension)"] += 1
        if sub_images >= count_cap or seen >= file_cap or time.monotonic() > deadline:
            complete = next(walk, None) is None  # stopped with folders left to look at?
            break
    return FolderSurvey(
        folder,
        recursive,
        0 if recursive else sub_images,
        sum(suffixes.values()),
        tuple(sorted(suffixes, key=lambda s: (-suffixes[s], s))[:5]),
        complete,
        has_subfolders,
    )


def require_image_files(
    folder: str | Path, recursive: bool, subfolders_hint: str = SUBFOLDERS_HINT
) -> list[Path]:
    """The image files to classify (as `list_image_files`), or the no-images error."""
    files = list_image_files(folder, recursive)
    if not files:
        raise no_images_error(folder, recursive, subfolders_hint)
    return files


def no_images_error(
    folder: str | Path, recursive: bool, subfolders_hint: str = SUBFOLDERS_HINT
) -> SortscopeError:
    """The error for a folder where no images were found: what is there, and what to do.

    `subfolders_hint` is how to include sub-folders where the words are read: "turn on Include
    sub-folders" in the window, "use --recursive" on the command line.
    """
    return survey_error(survey_folder(folder, recursive), subfolders_hint)


def survey_error(survey: FolderSurvey, subfolders_hint: str = SUBFOLDERS_HINT) -> SortscopeError:
    where = f"{survey.folder}" + (" or its sub-folders" if survey.recursive else "")
    choose = f"Choose the folder that holds the images ({IMAGE_KINDS})."
    hint = subfolders_hint[0].upper() + subfolders_hint[1:]
    if survey.subfolder_images:
        more = "" if survey.complete else "more than "
        count = f"{more}{survey.subfolder_images:,} image{_s(survey.subfolder_images)}"
        return SortscopeError(
            f"No images to classify in {survey.folder} itself: {count} in its sub-folders.",
            f"{hint} to classify them.",
        )
    if survey.other_files:
        # Without sub-folders the top level, walked first, is always counted in full.
        more = "" if survey.complete or not survey.recursive else "more than "
        kinds = ", ".join(survey.other_suffixes)
        what = (
            f"No image files in {where}: {more}{survey.other_files:,} other "
            f"file{_s(survey.other_files)} ({kinds})."
        )
    else:
        what = f"No image files in {where}: it holds no files."
    if not survey.recursive and not survey.complete:
        return SortscopeError(
            what + " Its sub-folders are too many to check quickly.",
            f"If the images are in sub-folders, {subfolders_hint}; otherwise: {choose}",
        )
    if not survey.recursive and survey.has_subfolders:
        what += " Its sub-folders hold no images either."
    return SortscopeError(what, choose)


def _s(n: int) -> str:
    return "" if n == 1 else "s"
