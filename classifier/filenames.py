"""File names as text in CSVs, JSON and terminal lines, reversibly, whatever bytes they hold.

Linux allows any bytes but '/' and NUL in a name, so `bad\\xff\\xfe.png` exists although it is
not UTF-8. Python reads such a name with surrogateescape (each undecodable byte 0xHH becomes
the lone surrogate U+DCHH), which no UTF-8 file or terminal accepts. `escape` writes each
such byte as the four characters `\\xHH` and doubles every backslash, so a name that is valid
UTF-8 and holds no backslash (nearly all of them) is written unchanged, and `unescape` finds
the exact name again. Other lone surrogates (possible in Windows names) become `\\uHHHH`.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def escape(name: str) -> str:
    """Text that every UTF-8 consumer accepts and `unescape` turns back into `name`."""
    if "\\" not in name and not _SURROGATE.search(name):
        return name
    return _SURROGATE.sub(_escaped, name.replace("\\", "\\\\"))


def _unescaped(match: re.Match) -> str:
    code = match.group(1)
    if code == "\\":
        return "\\"
    if code[0] == "x":
        return chr(0xDC00 + int(code[1:], 16))
    return chr(int(code[1:], 16))


def unescape(text: str) -> str:
    """The name `escape` wrote (with surrogateescape bytes, as os and pathlib expect)."""
    return _ESCAPE.sub(_unescaped, text) if "\\" in text else text
