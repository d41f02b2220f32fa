"""The main window: menus (View switches areas by menu and by Ctrl+1/2/3) and shortcuts, help,
start-up, quitting, the error dialog and the problems list's actions."""

from pathlib import Path

import pytest
from datasets import make_dataset
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from classifier.modelfile import save_model
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import ProblemKind, TrainConfig
from ui.main_window import MainWindow

SAVE, DISCARD, CANCEL = (
    QMessageBox.StandardButton.Save,
    QMessageBox.StandardButton.Discard,
    QMessageBox.StandardButton.Cancel,
)


@pytest.fixture
def opened(monkeypatch):
    """QDesktopServices.openUrl, recorded instead of opening anything."""
    import ui.system

    urls = []
    monkeypatch.setattr(
        ui.system.QDesktopServices, "openUrl", lambda url: urls.append(url.toLocalFile()) or True
    )
    return urls


@pytest.fixture
def answers(monkeypatch):
    """The unsaved-model question, answered from a list; the questions asked are recorded."""
    asked, given = [], []

    def exec_(box):
        asked.append((box.text(), box.informativeText(), box.button(SAVE).text()))
        return given.pop(0)

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked, given


def wait_for_scan(qtbot, window, root: Path):
    qtbot.waitUntil(
        lambda: window.state.scan is not None and window.state.scan.root == root, timeout=30000
    )


def train_once(qtbot, window, tmp_path) -> None:
    root = make_dataset(tmp_path / "data", per_class=12)
    window.open_dataset(root)
    wait_for_scan(qtbot, window, root)
    view = window.train_view
    view.form.set_config(TrainConfig(backbone="tiny_test", epochs=3, early_stopping=False))
    window.start_training()
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=60000)


def test_quitting_with_an_unsaved_model_asks_and_can_save_first(
    qtbot, tiny_window, tmp_path, answers, monkeypatch
):
    asked, given = answers
    train_once(qtbot, tiny_window, tmp_path)
    assert tiny_window.train_view.unsaved_run == 0
    # Opening another dataset keeps the runs of this session, so it asks nothing.
    other = make_dataset(tmp_path / "other", per_class=4)
    tiny_window.open_dataset(other)
    wait_for_scan(qtbot, tiny_window, other)
    assert not asked and tiny_window.train_view.runs
    # Cancel: the window stays.
    given.append(CANCEL)
    assert not tiny_window.close()
    assert tiny_window.isVisible()
    text, informative, save_text = asked[-1]
    assert "not saved" in text and "test accuracy" in text
    assert informative == "Quitting loses it. Save it first?" and save_text == "Save…"
    # Save…: the save dialog, then the window closes once the file is written.
    path = tmp_path / "kept.sortscope"
    monkeypatch.setattr(
        "ui.train_saving.QFileDialog.getSaveFileName", lambda *a, **k: (str(path), "")
    )
    given.append(SAVE)
    assert not tiny_window.close()  # not yet: the save runs in the background
    qtbot.waitUntil(lambda: not tiny_window.isVisible(), timeout=30000)
    assert path.is_file() and tiny_window.train_view.unsaved_run is None
    assert len(asked) == 2


def test_discard_quits_and_a_saved_model_is_not_asked_about(qtbot, tiny_window, tmp_path, answers):
    asked, given = answers
    train_once(qtbot, tiny_window, tmp_path)
    given.append(DISCARD)
    assert tiny_window.close()
    assert len(asked) == 1 and not tiny_window.train_view.runs[0].saved
    # A window with nothing trained closes without a question.
    plain = MainWindow(tiny_window.settings)
    qtbot.addWidget(plain)
    assert plain.close() and len(asked) == 1


def test_menus_have_shortcuts_for_the_main_actions(window):
    shortcuts = {
        a.text(): a.shortcut().toString()
        for menu in window.menuBar().actions()
        for a in menu.menu().actions()
    }
    assert shortcuts["Start &training"] == "Ctrl+T"
    assert shortcuts["&Classify"] == "Ctrl+R"
    assert shortcuts["&Save model…"] == "Ctrl+S"
    assert shortcuts["Open &model…"] == "Ctrl+Shift+O"
    assert shortcuts["&Export CSV…"] == "Ctrl+E"
    assert shortcuts["&Open dataset folder…"] == "Ctrl+O"
    every = [s for s in shortcuts.values() if s]
    assert len(every) == len(set(every)), "a shortcut is used twice"
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Run", "&Help"]


def test_view_menu_and_shortcuts_show_each_area(window, qtbot):
    names = [a.text() for a in window.view_actions]
    assert names == ["Dataset", "Train", "Classify"]
    for index in (2, 1, 0, 2):
        window.view_actions[index].trigger()
        assert window.tabs.currentIndex() == index
    for index in (1, 2, 0):
        window.activateWindow()
        qtbot.keyClick(window, Qt.Key.Key_1 + index, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == index


def test_actions_that_cannot_run_say_why_in_the_status_bar(window):
    window.start_training()
    assert window.tabs.currentWidget() is window.train_view
    assert "open a dataset" in window.statusBar().currentMessage()
    window.classify()
    assert window.tabs.currentWidget() is window.classify_view
    assert "needs a model" in window.statusBar().currentMessage()
    window.export_csv()
    assert "no results to export" in window.statusBar().currentMessage()
    window.save_model()
    assert "no trained model" in window.statusBar().currentMessage()


def test_help_shows_how_it_works_and_the_readme_sections(qtbot, window, monkeypatch):
    import ui.help_dialog as help_dialog

    pages = help_dialog.help_pages()
    assert list(pages) == ["How it works", *help_dialog.README_SECTIONS]
    sections = ("Preparing a dataset", "Telescope frames", "Command line")
    assert sections == help_dialog.README_SECTIONS
    assert "Start training" in pages["How it works"]
    assert "retrain.py" in pages["Preparing a dataset"]
    assert "astropy" in pages["Telescope frames"]
    assert "sortscope classify FOLDER" in pages["Command line"]
    help_menu = window.menuBar().actions()[3].menu()
    titles = [a.text() for a in help_menu.actions() if a.text()]
    assert titles == [
        *pages,
        "&Getting started",
        "Add Sortscope to the &applications menu",
        "&About Sortscope",
    ]
    help_menu.actions()[2].trigger()
    dialog = window.findChild(help_dialog.HelpDialog)
    assert dialog is not None and dialog.isVisible()
    assert "astropy" in dialog.text.toPlainText()
    dialog.show_page("Command line")
    assert "Exit status" in dialog.text.toPlainText()
    dialog.close()


def test_help_reads_the_installed_readme_without_a_source_tree(monkeypatch, tmp_path):
    import ui.help_dialog as help_dialog

    monkeypatch.setattr(help_dialog, "__file__", str(tmp_path / "ui" / "help_dialog.py"))
    installed = "# Sortscope\n\n## Command line\n\nsortscope train DATA_DIR\n\n## Other\n\nx\n"

    class Meta:
        def get_payload(self):
            return installed

    monkeypatch.setattr(help_dialog.metadata, "metadata", lambda name: Meta())
    assert help_dialog.readme_text() == installed
    pages = help_dialog.help_pages()
    assert pages["Command line"] == "sortscope train DATA_DIR"
    assert "not installed here" in pages["Telescope frames"]


def test_double_click_opens_an_image_in_the_system_viewer(qtbot, window, tmp_path, opened):
    root = make_dataset(tmp_path / "data", per_class=3)
    window.open_dataset(root)
    wait_for_scan(qtbot, window, root)
    grid = window.dataset_view.grid
    qtbot.waitUntil(lambda: window.dataset_view.thumbnail_model.rowCount() == 9)
    index = window.dataset_view.thumbnail_model.index(0)
    record = index.data(Qt.ItemDataRole.UserRole)
    grid.scrollTo(index)
    centre = grid.visualRect(index).center()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert opened[-1] == str(record.path)
    preview = window.dataset_view.preview
    qtbot.waitUntil(lambda: preview.path == record.path)
    qtbot.mouseDClick(preview.image, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert opened[-1] == str(record.path) and len(opened) == 2
    # A row of the Classify area's results.
    from classifier.types import Prediction

    window.tabs.setCurrentWidget(window.classify_view)
    results = window.classify_view.results_table
    results.reset(("Red", "green"), ())
    results.append([[Prediction("red_000.png", "Red", 0.9, (0.9, 0.1), "", record.path)]])
    rect = results.table.visualRect(results.proxy.index(0, 1))
    qtbot.mouseClick(results.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(results.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(opened) == 3 and opened[-1] == str(record.path)


def test_a_second_start_reopens_the_last_dataset_and_model(qtbot, settings, tmp_path):
    root = make_dataset(tmp_path / "data", per_class=6)
    model_path = tmp_path / "colours.sortscope"
    outcome = train(scan_dataset(root), TrainConfig(backbone="tiny_test", epochs=2))
    save_model(outcome.model, model_path)
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.open_dataset(root)
    wait_for_scan(qtbot, first, root)
    first.classify_view.model_picker.open_model(model_path)
    qtbot.waitUntil(lambda: first.state.model_path == model_path, timeout=30000)
    first.close()

    second = MainWindow(settings)
    qtbot.addWidget(second)
    assert second.state.scan is None and second.state.model is None  # only when asked
    second.restore_session()
    wait_for_scan(qtbot, second, root)
    qtbot.waitUntil(lambda: second.state.model_path == model_path, timeout=30000)
    assert second.state.example is None
    second.close()

    # Both gone: the third start says so in the status bar, without a dialog.
    model_path.unlink()
    root.rename(tmp_path / "moved")
    third = MainWindow(settings)
    qtbot.addWidget(third)
    third.restore_session()
    message = third.statusBar().currentMessage()
    assert str(root) in message and str(model_path) in message and "no longer exist" in message
    assert third.state.scan is None and not third.runner.is_running("scan")
    assert third.findChild(QMessageBox) is None
    third.close()


def test_the_example_is_marked_synthetic_and_training_has_one_name(qtbot, window, tmp_path):
    note = window.dataset_view.example_note
    window.open_example()
    qtbot.waitUntil(lambda: window.state.scan is not None, timeout=60000)
    assert note.isVisible() and "synthetic" in note.text() and "Start training" in note.text()
    other = make_dataset(tmp_path / "data", per_class=3)
    window.open_dataset(other)
    wait_for_scan(qtbot, window, other)
    assert not note.isVisible()
    # One name for the button: the window, the help and the README say "Start training".
    assert window.train_view.start_button.text() == "Start training"
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "Press\n**Start training**" in readme and "Press\n**Train**" not in readme


def problem_dataset(qtbot, window, tmp_path):
    """A dataset with a corrupt file and an image filed in two classes; the panel and the rows."""
    import shutil

    root = make_dataset(tmp_path / "data", per_class=4)
    (root / "Red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    shutil.copy(root / "green" / "green_000.png", root / "Red" / "from_green.png")
    window.open_dataset(root)
    wait_for_scan(qtbot, window, root)
    panel = window.dataset_view.problems
    return root, panel


def select_problem(panel, path: Path) -> None:
    row = next(i for i, p in enumerate(panel.problems) if p.path == path)
    panel.table.selectRow(row)
    assert panel.selected_file() == path


def test_a_problem_file_moves_to_another_class_and_back(qtbot, window, tmp_path, monkeypatch):
    root, panel = problem_dataset(qtbot, window, tmp_path)
    misfiled = next(p.path for p in panel.problems if p.path and p.path.name == "from_green.png")
    select_problem(panel, misfiled)
    assert panel.move_button.isEnabled() and not panel.undo_button.isVisible()
    offered = []

    def get_item(parent, title, label, items, *args):
        offered.append(list(items))
        return "green", True

    monkeypatch.setattr("ui.problems_panel.QInputDialog.getItem", get_item)
    old_scan = window.state.scan
    panel.move_button.click()
    qtbot.waitUntil(lambda: window.state.scan is not old_scan, timeout=30000)
    assert offered == [["Blue Sky", "green"]]  # every class but its own
    assert (root / "green" / "from_green.png").is_file() and not misfiled.exists()
    assert window.state.scan.counts()["Red"] == 4  # the rescan sees the move
    assert not [
        p for p in window.state.scan.problems if p.kind == ProblemKind.DUPLICATE_ACROSS_CLASSES
    ]
    assert "Moved from_green.png into green." in window.statusBar().currentMessage()
    assert panel.undo_button.isVisible()
    moved_scan = window.state.scan
    panel.undo_button.click()
    qtbot.waitUntil(lambda: window.state.scan is not moved_scan, timeout=30000)
    assert misfiled.is_file() and not (root / "green" / "from_green.png").exists()
    assert window.state.scan.counts()["Red"] == 5 and not panel.undo_button.isVisible()
    assert "Moved 1 file(s) back where they were." in window.statusBar().currentMessage()


def test_a_problem_file_goes_to_the_trash_or_is_deleted_after_asking(
    qtbot, window, tmp_path, monkeypatch
):
    import ui.problems_panel

    root, panel = problem_dataset(qtbot, window, tmp_path)
    broken = root / "Red" / "broken.png"
    trashed = []
    monkeypatch.setattr(ui.problems_panel, "move_to_trash", lambda p: trashed.append(p) or False)
    asked = []
    monkeypatch.setattr(
        ui.problems_panel.QMessageBox, "question", lambda *a: asked.append(a[2]) or CANCEL
    )
    select_problem(panel, broken)
    panel.delete_button.click()  # no trash here, and the answer is Cancel: nothing happens
    assert trashed == [broken] and "Delete it permanently?" in asked[0] and broken.is_file()
    monkeypatch.setattr(
        ui.problems_panel.QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes
    )
    old_scan = window.state.scan
    panel.delete_button.click()
    qtbot.waitUntil(lambda: window.state.scan is not old_scan, timeout=30000)
    assert not broken.exists()
    assert all(p.path != broken for p in window.state.scan.problems)
    # Where the trash works, nothing is asked.
    monkeypatch.setattr(ui.problems_panel, "move_to_trash", lambda p: trashed.append(p) or True)
    monkeypatch.setattr(ui.problems_panel.QMessageBox, "question", None)  # must not be called
    copy = root / "Red" / "from_green.png"
    select_problem(panel, copy)
    panel.delete_button.click()
    assert trashed[-1] == copy
    assert "Moved from_green.png to the trash." in window.statusBar().currentMessage()


def test_open_the_folder_of_a_problem_file(qtbot, window, tmp_path, opened):
    root, panel = problem_dataset(qtbot, window, tmp_path)
    select_problem(panel, root / "Red" / "broken.png")
    panel.open_button.click()
    assert opened == [str(root / "Red")]


def test_a_bad_model_file_is_explained_in_words_without_a_traceback(qtbot, window, tmp_path):
    from PySide6.QtGui import QGuiApplication

    from ui.error_dialog import ErrorDialog

    bad = tmp_path / "broken.sortscope"
    bad.write_bytes(b"not a zip file")
    window.classify_view.model_picker.open_model(bad)
    qtbot.waitUntil(lambda: window.findChild(ErrorDialog, "sortscope-error") is not None)
    box = window.findChild(ErrorDialog, "sortscope-error")
    assert "broken.sortscope" in box.text() and box.informativeText()
    report = box.details.toPlainText()
    assert report.startswith(f"What happened: {box.text()}\nWhat to do: ")
    assert "Technical details" in report and "BadZipFile" in report
    assert "Traceback" not in report  # an expected error: the cause in one line is enough
    assert not box.details.isVisible()
    box.details_button.click()
    assert box.details.isVisible()
    box.copy_button.click()
    assert QGuiApplication.clipboard().text() == report
    assert box.isVisible()  # copying does not close the dialog
    box.close()


def test_an_unexpected_error_shows_its_traceback_for_a_bug_report(qtbot, window):
    from ui.error_dialog import ErrorDialog
    from ui.errors import ErrorInfo, show_error

    try:
        {}["missing"]
    except KeyError as exc:
        info = ErrorInfo.from_exception(exc)
    assert info.unexpected and "Traceback" in info.details
    show_error(window, info)
    box = window.findChild(ErrorDialog, "sortscope-error")
    assert "Please report this" in box.informativeText()
    report = box.details.toPlainText()
    assert report.index("What happened") < report.index("Technical details")
    assert report.index("Technical details") < report.index("Traceback")
    box.close()


def test_a_folder_without_images_is_explained_and_keeps_the_last_results(qtbot, window, tmp_path):
    from classifier.types import DEFAULT_THRESHOLD
    from ui.error_dialog import ErrorDialog

    view = window.classify_view
    assert view.threshold.value() == DEFAULT_THRESHOLD  # the core's one default
    root = make_dataset(tmp_path / "data", per_class=6)
    model_path = save_model(
        train(scan_dataset(root), TrainConfig(backbone="tiny_test", epochs=2)).model,
        tmp_path / "colours.sortscope",
    )
    view.model_picker.open_model(model_path)
    qtbot.waitUntil(lambda: window.state.model_path == model_path, timeout=30000)
    view.folder_edit.setText(str(root / "Red"))
    view.start()
    qtbot.waitUntil(lambda: window.state.results is not None, timeout=60000)
    assert len(view.results.rows) == 6
    # Images only in sub-folders, with sub-folders off: said before anything runs.
    view.folder_edit.setText(str(root))
    view.start()
    qtbot.waitUntil(lambda: window.findChild(ErrorDialog, "sortscope-error") is not None)
    box = window.findChild(ErrorDialog, "sortscope-error")
    assert "18 images in its sub-folders" in box.text()
    assert box.informativeText() == "Turn on Include sub-folders to classify them."
    assert len(view.results.rows) == 6 and view.folder == root / "Red"  # the last run stays
    assert "Classified 0" not in window.statusBar().currentMessage()
    assert not window.runner.is_running("classify") and view.start_button.isEnabled()
    box.close()
