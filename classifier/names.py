"""What may be a class name, and the labels Sortscope keeps for its own buckets.

A class name comes from a folder name and ends up in CSV headers (`prob_<class>`), in
`labels.txt` and as a folder under a sort's OUTPUT. The same rule is applied when a dataset is
scanned and when a model file is opened, so a name that passes one passes the other.
"""

from __future__ import annotations

from classifier.checked_json import has_control_characters
from classifier.sorting import safe_folder_name

UNCERTAIN = "uncertain"  # results below the confidence threshold
UNFAMILIAR = "unfamiliar"  # images unlike anything seen in training
RESERVED_LABELS = (UNCERTAIN, UNFAMILIAR)
MAX_CLASS_NAME = 255  # characters: a folder name on every common file system
_NOT_UTF8 = "is not valid text (the folder name's bytes are not UTF-8)"


def is_reserved(name: str) -> bool:
    """Whether results of this class would land in one of Sortscope's own buckets: the same
    label, or the same OUTPUT folder on a case-insensitive file system."""
    return safe_folder_name(name).casefold() in RESERVED_LABELS


def class_name_problem(name: object) -> str | None:
    """Why `name` cannot be a class name (a phrase to follow "the class name ..."), or None."""
    if not isinstance(name, str):
        return "is not text"
    if not name.strip():
        return "is empty"
    if len(name) > MAX_CLASS_NAME:
        return f"is {len(name)} characters long (at most {MAX_CLASS_NAME})"
    if has_control_characters(name):
        return "holds a line break or another control character"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "holds a path separator"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return _NOT_UTF8
    if is_reserved(name):
        return f"is one Sortscope gives its own results ({', '.join(RESERVED_LABELS)})"
    return None


def shown_name(name: str) -> str:
    """A name in quotes for a message; escaped when it holds line breaks or undecodable bytes."""
    if has_control_characters(name) or class_name_problem(name) == _NOT_UTF8:
        return ascii(name)
    return f"'{name}'"
