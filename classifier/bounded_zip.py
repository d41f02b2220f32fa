"""Reading zip members with a bound on what they inflate to: a zip bomb is refused, not held.

A member may inflate to at most INFLATION times its compressed size (real model files compress
1.1-5x; a bomb 1000x), with FLOOR bytes always allowed and an absolute limit per member. The
declared size is checked before anything is inflated and the actual size while inflating, in
chunks; members that are zips themselves (model.keras, head.npz) get their members' declared
sizes checked before Keras or NumPy open them.
"""

from __future__ import annotations

import io
import zipfile

from classifier.checked_json import Invalid

INFLATION, FLOOR = 20, 64 << 20
CHUNK = 1 << 20


def allowed_size(info: zipfile.ZipInfo, limit: int) -> int:
    return min(limit, max(FLOOR, INFLATION * info.compress_size))


def check_readable(member: zipfile.ZipInfo, where: str) -> None:
    """Sortscope writes members stored or deflated, never encrypted; anything else is not
    one of its files (and zipfile would fail on it with errors of its own)."""
    if member.flag_bits & 0x1:
        raise Invalid(f"{where} is encrypted")
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise Invalid(f"{where} is compressed with method {member.compress_type}")


def read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytearray:
    """A member's bytes, inflated in chunks and never beyond its declared or allowed size."""
    member = archive.getinfo(name)
    check_readable(member, name)
    allowed = allowed_size(member, limit)
    if member.file_size > allowed:
        raise Invalid(too_large(name, member.file_size, member.compress_size))
    data = bytearray()
    with archive.open(member) as stream:
        while chunk := stream.read(CHUNK):
            data += chunk
            if len(data) > min(member.file_size, allowed):
                raise Invalid(too_large(name, len(data), member.compress_size))
    return data


def check_inner_archive(data: bytes, name: str, limit: int) -> None:
    """model.keras and head.npz are zips too: their members' sizes are bounded the same way
    before Keras or NumPy inflate them."""
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        members = inner.infolist()
        for member in members:
            check_readable(member, f"{name}/{member.filename}")
        total = sum(m.file_size for m in members)
        if total > limit or any(m.file_size > allowed_size(m, limit) for m in members):
            raise Invalid(too_large(name, total, len(data)))


def too_large(name: str, size: int, packed: int) -> str:
    return f"{name} would inflate to {size:,} bytes from {packed:,} (a zip bomb?)"
