"""The results table's sorting and filtering: the same orders, ties and filters as a Python
sort and a per-row test give, whether computed at once or off the GUI thread; stale results
dropped; the selection staying on its row; rows streaming in meanwhile."""

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from classifier.predict import UNCERTAIN
from classifier.types import Prediction
from ui.results_table import ResultsTable
from ui.thumbnails import ThumbnailLoader

CLASSES = ("a", "b", "c")
ASC, DESC = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder


def make_rows(n: int, seed: int = 0) -> list[Prediction]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        name = f"{'Night' if i % 3 else 'night'}/{rng.integers(0, n // 2):05d}é.png"
        if i % 17 == 5:
            rows.append(Prediction(name, "", None, None, f"bad file {i % 2}"))
            continue
        p = rng.dirichlet([1, 1, 1]).round(1)  # rounded: many equal values, ties to keep
        novelty = None if i % 5 == 0 else round(float(rng.random()), 2)
        extra = (str(rng.integers(0, 4)),) if i % 7 else ()
        rows.append(
            Prediction(
                name,
                "",
                float(p.max()),
                tuple(map(float, p)),
                novelty=novelty,
                extra=extra,
                digest=f"d{i}",
            )
        )
    return rows


@pytest.fixture
def table(qtbot):
    loader = ThumbnailLoader()
    table = ResultsTable(loader)
    qtbot.addWidget(table)
    table.reset(CLASSES, ("FILTER",), novelty=True)
    yield table
    qtbot.waitUntil(lambda: not table.results.busy, timeout=10000)
    loader.shutdown()


def settle(qtbot, table):
    qtbot.waitUntil(lambda: not table.results.busy, timeout=10000)


def python_sort(model, rows: list[Prediction], column: int, order) -> list[Prediction]:
    """The table's sort as it was: stable on the shown order, rows without a value last."""
    number = {id(r): i for i, r in enumerate(model.rows)}
    keyed = [(model._value(number[id(r)], column), r) for r in rows]
    present = [kr for kr in keyed if kr[0] is not None]
    present.sort(key=lambda kr: kr[0], reverse=order == DESC)
    return [r for _, r in present] + [r for k, r in keyed if k is None]


@pytest.mark.parametrize("background", [False, True])
def test_sort_orders_and_ties_are_those_of_a_stable_python_sort(qtbot, table, background):
    model = table.results
    if background:
        model.background_from = 0  # every sort off the GUI thread
    model.set_reviewed(lambda row: "b" if row.digest.endswith("3") else "")
    model.append(make_rows(400))
    novelty = model.error_column + 1
    expected = model.shown_rows()
    for column, order in [
        (3, DESC),
        (2, ASC),
        (1, ASC),
        (5, DESC),
        (novelty, ASC),
        (2, DESC),
        (model.error_column, ASC),
        (novelty + 1, DESC),
        (4, DESC),
        (1, DESC),
    ]:
        model.sort(column, order)
        settle(qtbot, table)
        expected = python_sort(model, expected, column, order)
        assert model.shown_rows() == expected, (column, order)
    # The CSV and sorting into folders get the rows in the table's order, labels set.
    assert [r.file for r in model.relabelled()] == [r.file for r in expected]
    assert [r.label for r in model.relabelled()] == [model.label(r) for r in expected]


@pytest.mark.parametrize("background", [False, True])
def test_filters_show_the_rows_a_per_row_test_shows(qtbot, table, background):
    model = table.results
    if background:
        model.background_from = 0
    rows = make_rows(300)
    model.set_reviewed(lambda row: "c" if row.digest.endswith("1") else "")
    model.append(rows[:200])
    table.table.sortByColumn(3, DESC)
    model.append(rows[200:])  # streamed in after the sort: at the end, as they came
    settle(qtbot, table)
    order = model.shown_rows()
    assert order[200:] == rows[200:]

    def shown_where(test):
        settle(qtbot, table)
        assert model.shown_rows() == [r for r in order if test(r)]
        table.clear_filters()
        settle(qtbot, table)
        assert model.shown_rows() == order

    table.set_threshold(0.5)
    table.uncertain_only.setChecked(True)
    shown_where(lambda r: model.label(r) == UNCERTAIN)
    table.label_filter.setCurrentIndex(table.label_filter.findData("b"))
    shown_where(lambda r: model.label(r) == "b")
    table.errors_only.setChecked(True)
    shown_where(lambda r: bool(r.error))
    table.search.setText("NIGHT/000")  # any case
    shown_where(lambda r: "night/000" in r.file.lower())
    table.search.setText("É")  # beyond ASCII too
    shown_where(lambda r: "é" in r.file.lower())
    table.hide_reviewed.setChecked(True)
    shown_where(lambda r: not r.digest.endswith("1"))
    table.novelty_box.mark.setChecked(True)
    table.novelty_box.value.setValue(0.8)
    table.novelty_box.only.setChecked(True)
    shown_where(lambda r: r.novelty is not None and r.novelty > 0.8 and not r.error)
    # Moving the threshold relabels every row; a label filter follows it.
    table.label_filter.setCurrentIndex(table.label_filter.findData("a"))
    settle(qtbot, table)
    table.set_threshold(0.9)
    shown_where(lambda r: model.label(r) == "a")
    assert model.labels == [model.label(r) for r in model.rows]


def test_a_stale_result_is_dropped_and_rows_keep_streaming_in(qtbot, table, monkeypatch):
    import ui.results_model

    model = table.results
    model.background_from = 0
    rows = make_rows(120)
    model.append(rows[:100])
    real = ui.results_model._arrange
    release = threading.Event()

    def slow_first(*args):
        if not release.is_set():
            release.wait(10)
        return real(*args)

    monkeypatch.setattr(ui.results_model, "_arrange", slow_first)
    layouts = []
    model.layoutChanged.connect(lambda *_: layouts.append(model.shown_rows()))
    table.errors_only.setChecked(True)  # computed, held up, then stale
    qtbot.wait(50)
    assert model.busy and model.rowCount() == 100  # the table still shows the last result
    table.errors_only.setChecked(False)
    table.search.setText("night/")
    model.append(rows[100:])  # rows arriving meanwhile are shown at once
    assert model.rowCount() == 100 + sum("night/" in r.file.lower() for r in rows[100:])
    release.set()
    settle(qtbot, table)
    expected = [r for r in rows if "night/" in r.file.lower()]
    assert layouts == [expected[: len(layouts[0])]]  # only the newest request was shown
    assert model.shown_rows() == expected  # and the rows that came meanwhile after it


def test_the_selection_stays_on_its_row(qtbot, table):
    model = table.results
    model.background_from = 0
    rows = make_rows(200)
    model.append(rows)
    picked = rows[37]
    table.table.selectRow(37)
    selected = []
    table.row_selected.connect(selected.append)

    def current():
        index = table.table.currentIndex()
        return index.data(Qt.ItemDataRole.UserRole) if index.isValid() else None

    def selected_rows():
        rows_ = table.table.selectionModel().selectedRows()
        return [i.data(Qt.ItemDataRole.UserRole) for i in rows_]

    table.table.sortByColumn(3, DESC)
    settle(qtbot, table)
    assert model.shown_rows().index(picked) != 37
    assert current() is picked and selected_rows() == [picked]
    table.search.setText(picked.file[-10:])
    settle(qtbot, table)
    assert current() is picked and selected_rows() == [picked]
    table.errors_only.setChecked(True)  # the picked row is readable: filtered out
    settle(qtbot, table)
    assert current() is None and selected_rows() == []
    assert selected == []  # no other row was selected on its behalf
