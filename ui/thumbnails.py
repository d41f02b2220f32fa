"""Thumbnails decoded in a small background pool, newest requests first, with a bounded cache.

Requests carry a generation number; bumping it (a new folder, a new class) drops everything
pending and discards late results, so a folder the user already left never paints over the new
one. Decoding uses the core loader, so thumbnails are upright exactly as training sees them.
`ThumbnailModel` shows image records as a grid that asks for thumbnails only when drawn.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from classifier import images
from classifier.errors import ImageError
from classifier.preprocessing import Preprocessing
from classifier.types import ImageRecord
from ui import style

CACHE_ITEMS = 1500  # about 55 MB at 96x96
MAX_PENDING = 300  # older requests are dropped when the user scrolls past them


def pil_to_qimage(image) -> QImage:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return qimage.copy()  # own the pixels: `data` dies with this frame


def screen_ratio() -> float:
    """Device pixels per logical pixel of the app's screens (2 on a 2x screen)."""
    app = QGuiApplication.instance()
    return app.devicePixelRatio() if app is not None else 1.0


def hidpi_pixmap(image: QImage, logical_side: int) -> QPixmap:
    """`image`, decoded for at most `logical_side` × ratio pixels, as a pixmap drawn at the
    size a `logical_side` thumbnail has: sharp at 2x, and a small image no smaller than at 1x
    (it was not enlarged, so it has fewer device pixels per logical one)."""
    pixmap = QPixmap.fromImage(image)
    longest = max(image.width(), image.height())
    pixmap.setDevicePixelRatio(max(1.0, longest / logical_side))
    return pixmap


class _Worker(QRunnable):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        while (job := self.loader._next_job()) is not None:
            path, generation = job
            try:
                thumbnail = images.load_thumbnail(
                    path, self.loader.pixel_side, prep=self.loader.preprocessing
                )
                image = pil_to_qimage(thumbnail)
            except ImageError:
                image = None
            self.loader._deliver(path, generation, image)


class ThumbnailLoader(QObject):
    loaded = Signal(object, object)  # path, QPixmap | None (None: unreadable)
    _results = Signal(object, int, object)  # from workers: path, generation, QImage | None

    def __init__(
        self,
        size: int = 96,
        threads: int = 2,
        parent: QObject | None = None,
        ratio: float | None = None,
        cache_items: int = CACHE_ITEMS,
    ) -> None:
        super().__init__(parent)
        self.size = size  # logical pixels: what layouts see
        self.ratio = ratio if ratio is not None else screen_ratio()
        self.pixel_side = round(size * self.ratio)  # decoded for the screen's real pixels
        self.cache_items = cache_items  # large previews: keep fewer
        self.preprocessing = Preprocessing()  # how FITS and 16-bit images are stretched
        self.generation = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._lock = threading.Lock()
        self._pending: OrderedDict[Path, int] = OrderedDict()
        self._in_flight: dict[Path, int] = {}  # path -> generation it was requested for
        self._cache: OrderedDict[Path, QPixmap | None] = OrderedDict()
        self._workers = 0
        self._results.connect(self._on_result)

    def new_generation(self) -> None:
        with self._lock:
            self.generation += 1
            self._pending.clear()

    def set_preprocessing(self, prep: Preprocessing) -> None:
        """Show images with another stretch: everything cached or pending is dropped."""
        if prep == self.preprocessing:
            return
        self.new_generation()  # results decoded with the old stretch arrive stale
        self.preprocessing = prep
        self._cache.clear()

    def cached(self, path: Path) -> tuple[bool, QPixmap | None]:
        if path in self._cache:
            self._cache.move_to_end(path)
            return True, self._cache[path]
        return False, None

    def request(self, path: Path) -> None:
        with self._lock:
            if self._in_flight.get(path) == self.generation:
                return  # already being decoded for what is shown now
            self._pending[path] = self.generation
            self._pending.move_to_end(path)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
            start = self._workers < self._pool.maxThreadCount()
            if start:
                self._workers += 1
        if start:
            self._pool.start(_Worker(self))

    def _next_job(self) -> tuple[Path, int] | None:
        with self._lock:
            if not self._pending:
                self._workers -= 1
                return None
            path, generation = self._pending.popitem(last=True)  # newest first: what is visible
            self._in_flight[path] = generation
            return path, generation

    def _deliver(self, path: Path, generation: int, image: QImage | None) -> None:
        with self._lock:
            if self._in_flight.get(path) == generation:
                del self._in_flight[path]
        self._results.emit(path, generation, image)

    def _on_result(self, path: Path, generation: int, image: QImage | None) -> None:
        if generation != self.generation:
            return  # stale: the user moved on
        pixmap = hidpi_pixmap(image, self.size) if image is not None else None
        self._cache[path] = pixmap
        while len(self._cache) > self.cache_items:
            self._cache.popitem(last=False)
        self.loaded.emit(path, pixmap)

    def shutdown(self) -> None:
        self.new_generation()
        self._pool.waitForDone()


class ThumbnailModel(QAbstractListModel):
    """Records as a list; pixmaps are requested only when the view asks (visible items)."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader
        self.records: list[ImageRecord] = []
        self._rows: dict[Path, int] = {}
        placeholder = QPixmap(loader.size, loader.size)
        placeholder.fill(style.qcolor("neutral", 60))
        self._placeholder = placeholder
        broken = QPixmap(loader.size, loader.size)
        broken.fill(style.qcolor("broken", 90))
        self._broken = broken
        loader.loaded.connect(self._on_loaded)

    def set_records(self, records: list[ImageRecord]) -> None:
        self.beginResetModel()
        self.loader.new_generation()
        self.records = records
        # Text keys: str hashes are cached, pathlib's are recomputed in Python every time.
        self._rows = {str(r.path): i for i, r in enumerate(records)}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.records)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self.records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return record.path.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{record.class_name}/{record.rel_path}"
        if role == Qt.ItemDataRole.UserRole:
            return record
        if role == Qt.ItemDataRole.DecorationRole:
            known, pixmap = self.loader.cached(record.path)
            if known:
                return pixmap if pixmap is not None else self._broken
            self.loader.request(record.path)
            return self._placeholder
        return None

    def _on_loaded(self, path: Path, _pixmap) -> None:
        row = self._rows.get(str(path))
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def refresh_pixmaps(self) -> None:
        """Ask the view to fetch every visible thumbnail again (e.g. after a new stretch)."""
        if self.records:
            first, last = self.index(0), self.index(len(self.records) - 1)
            self.dataChanged.emit(first, last, [Qt.ItemDataRole.DecorationRole])

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(str(path))


class ThumbnailDelegate(QStyledItemDelegate):
    """A grid cell whose name uses the cell's whole width and, when too long, is cut in the
    middle: names that differ only at the end (…_001.png, …_002.png) stay told apart."""

    def __init__(self, cell: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell - QSize(4, 4)  # a little space between neighbours

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle

    def sizeHint(self, _option: QStyleOptionViewItem, _index: QModelIndex) -> QSize:
        return self.cell
