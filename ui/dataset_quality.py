"""The dataset browser's view through the network's eyes: "Check labels" puts suspected label
errors into the problems panel, a clicked suspect is shown beside typical images of both
classes (in place of the preview), and the Map tab's area selection fills the grid.

Kept apart from ui/dataset_view.py so that the browser itself stays about folders and images.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QSplitter, QStackedWidget

from classifier.quality import LabelCheck, LabelIssue
from classifier.types import ScanResult
from ui.map_view import MapPanel, dataset_source
from ui.suspects import LabelCheckControl, SuspectCompare

AREA_SHOWS = "shown in the grid (pick a class to see it again)"


class DatasetQuality:
    """Wires the label check, the suspects and the map into `view` (a DatasetView): the
    check's control joins the problems panel's bar, `side` (the preview's place) also holds
    the suspect comparison, and the map is a tab beside the problems."""

    def __init__(self, view, side: QStackedWidget) -> None:
        self.view, self.side = view, side
        self.checked: tuple[ScanResult, LabelCheck] | None = None
        problems = view.problems
        self.control = LabelCheckControl(view.state, view.runner, problems.kept)
        problems.actions.insertWidget(1, self.control)
        self.control.checked.connect(self._checked)
        self.compare = SuspectCompare(view.runner)
        side.addWidget(self.compare)
        self.compare.move_requested.connect(lambda: self._act(keep=False))
        self.compare.keep_requested.connect(lambda: self._act(keep=True))
        problems.suspect_clicked.connect(self.show_suspect)
        problems.problem_clicked.connect(lambda _row: self.show_preview())
        problems.said.connect(view.state.status)
        view.grid.clicked.connect(lambda _index: self.show_preview())
        view.grid.selectionModel().currentChanged.connect(lambda *_: self.show_preview())
        self.map = MapPanel(view.runner, dataset_source(view.state), area_shows=AREA_SHOWS)
        self.map.view.image_clicked.connect(self._map_clicked)
        self.map.view.selection_changed.connect(self.show_area)
        view.lower.addTab(self.map, "Map")
        view.lower.currentChanged.connect(self._tab_changed)
        self._root: Path | None = None
        view.state.scan_changed.connect(self._scan_changed)

    def _scan_changed(self, scan: ScanResult | None) -> None:
        self.show_preview()
        root = scan.root if scan is not None else None
        if root != self._root:  # another dataset: its suspects and map are not these
            self._root, self.checked = root, None
            self.map.clear()

    def _tab_changed(self, index: int) -> None:
        """A map needs room: opening its tab gives the lower pane at least half the height."""
        splitter = self.view.lower.parentWidget()
        if self.view.lower.widget(index) is not self.map or not isinstance(splitter, QSplitter):
            return
        upper, lower = splitter.sizes()
        if lower < upper:
            splitter.setSizes([(upper + lower) * 2 // 5, (upper + lower) * 3 // 5])

    def _checked(self, scan: ScanResult, check: LabelCheck) -> None:
        self.checked = (scan, check)
        n = len(check.issues)
        note = check.note or ("" if n else "no suspected label errors")
        if check.kept:
            note += f"{' · ' if note else ''}{check.kept} kept as they are"
        self.view.problems.show_suspects(check.issues, note)
        self.view.lower.setCurrentWidget(self.view.problems)

    def show_suspect(self, issue: LabelIssue) -> None:
        """The suspect beside typical images of its folder's class and the suggested one."""
        if self.checked is None:
            return
        scan, check = self.checked
        self.compare.show_suspect(issue, scan, check, self.view.state.preprocessing)
        self.side.setCurrentWidget(self.compare)

    def show_preview(self) -> None:
        self.side.setCurrentIndex(0)

    def _act(self, keep: bool) -> None:
        """Move or keep the suspect on show; after "Keep as is" the next suspect is shown
        (after a move, the rescan shows the preview again)."""
        problems, issue = self.view.problems, self.compare.issue
        if issue is None or issue not in problems.suspects:
            return
        index = problems.suspects.index(issue)
        if problems.selected_suspect() != issue:
            problems.select_suspect(issue)
        if not keep:
            problems.move_selected()
            return
        problems.keep_selected()
        if issue not in problems.suspects and problems.suspects:
            problems.select_suspect(problems.suspects[min(index, len(problems.suspects) - 1)])

    def _map_clicked(self, path: Path) -> None:
        self.view._show_path(path)

    def show_area(self, paths: tuple[Path, ...] | None) -> None:
        """The images inside the map's area fill the grid; no area (None): the class again."""
        scan = self.view.state.scan
        if scan is None:
            return
        if paths is None:
            self.view._class_selected()
            return
        inside = set(paths)
        view = self.view
        view.class_table.blockSignals(True)
        view.class_table.clearSelection()
        view.class_table.blockSignals(False)
        view.thumbnail_model.set_records([r for r in scan.images if r.path in inside])
        view.state.status.emit(f"{len(inside):,} images in the map's area are shown in the grid.")

    def shutdown(self) -> None:
        self.control.shutdown()
        self.compare.shutdown()
        self.map.shutdown()
