"""Memory bounds shared by every worker: large reads and decodes share one budget.

Small work (nearly every file) takes no lock at all. Work estimated above `large_bytes` reserves
its estimate from a process-wide budget first and waits while the budget is spent, so eight
workers meeting eight 200-megapixel images decode them in turn instead of all at once, while
many medium images still run side by side. A thread that already holds a reservation (a large
file being decoded) takes no second one, so a worker never waits on itself.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from classifier.errors import ImageError, ImageErrorKind

# Explicit, configurable decompression-bomb guard (--max-pixels), checked from the header before
# any decoding; files larger than an uncompressed image this size are not read at all.
DEFAULT_MAX_PIXELS = 200_000_000
LARGE_BYTES = 64 << 20  # work estimated above this reserves from the budget
# Peak bytes per pixel of decoding to RGB, measured on 16-megapixel PNGs: the pixels and the
# copies a conversion makes (L, RGB, 16-bit: 4-8); compositing alpha onto the background keeps
# four RGBA-sized images at once (RGBA, LA: 20).
DECODE_BYTES_PER_PIXEL = 8
ALPHA_DECODE_BYTES_PER_PIXEL = 20


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return 8 << 30  # Windows and the like: assume a modest machine


class Budget:
    """Bytes that large work in flight may hold together; see the module docstring."""

    def __init__(self, capacity: int, large_bytes: int = LARGE_BYTES) -> None:
        self.capacity = capacity
        self.large_bytes = large_bytes
        self.used = 0
        self.peak = 0  # the most reserved at once, for tests and benchmarks
        self._changed = threading.Condition()
        self._held = threading.local()

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        if nbytes <= self.large_bytes or getattr(self._held, "active", False):
            yield
            return
        amount = min(nbytes, self.capacity)  # one item larger than the budget runs alone
        with self._changed:
            while self.used + amount > self.capacity:
                self._changed.wait()
            self.used += amount
            self.peak = max(self.peak, self.used)
        self._held.active = True
        try:
            yield
        finally:
            self._held.active = False
            with self._changed:
                self.used -= amount
                self._changed.notify_all()


# A quarter of the machine's memory (at least 1 GiB) for large images in flight together.
BUDGET = Budget(max(1 << 30, _physical_memory() // 4))


def reserve(nbytes: int) -> contextlib.AbstractContextManager[None]:
    """Reserve `nbytes` of the shared budget for the block (a no-op for small work)."""
    return BUDGET.reserve(nbytes)


def out_of_memory() -> ImageError:
    return ImageError(
        ImageErrorKind.OUT_OF_MEMORY,
        "The computer ran out of memory while reading this image.",
        "Close other programs and try again, or lower the pixel limit (--max-pixels) so that "
        "images this large are skipped.",
    )
