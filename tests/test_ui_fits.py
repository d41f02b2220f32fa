"""FITS datasets in the GUI: the stretch selector, training with it, header columns."""

import numpy as np
from datasets import make_dataset, make_fits_dataset, read_csv, sky_frame, write_fits
from PySide6.QtCore import Qt

from classifier.preprocessing import Preprocessing


def open_and_wait(qtbot, window, root):
    window.open_dataset(root)
    qtbot.waitUntil(
        lambda: window.state.scan is not None and window.state.scan.root == root, timeout=30000
    )
    return window.state.scan


def thumbnail_pixels(qtbot, view, path):
    qtbot.waitUntil(lambda: view.loader.cached(path)[0], timeout=10000)
    image = view.loader.cached(path)[1].toImage()
    return np.array([image.pixelColor(x, 10).red() for x in range(image.width())])


def test_stretch_selector_rethumbnails_retrains_and_is_hidden_for_jpegs(
    qtbot, tiny_window, tmp_path
):
    window = tiny_window
    view = window.dataset_view
    jpegs = make_dataset(tmp_path / "photos", per_class=4, fmt="jpg")
    open_and_wait(qtbot, window, jpegs)
    assert not view.stretch.isVisibleTo(view)  # nothing to stretch: no extra controls

    root = make_fits_dataset(tmp_path / "frames", per_class=12)
    scan = open_and_wait(qtbot, window, root)
    assert view.stretch.isVisibleTo(view)
    assert "24" in view.stretch.summary.text()
    first = view.thumbnail_model.records[0].path
    automatic = thumbnail_pixels(qtbot, view, first)

    # The hot pixel squashes a full-range stretch: thumbnails are redrawn much darker.
    view.stretch.stretch.setCurrentIndex(view.stretch.stretch.findData("linear"))
    assert window.state.preprocessing == Preprocessing("linear")
    linear = thumbnail_pixels(qtbot, view, first)
    assert linear.mean() < automatic.mean() - 50
    assert not view.stretch.low.isEnabled()  # percentiles do not apply to linear

    view.stretch.stretch.setCurrentIndex(view.stretch.stretch.findData("percentile"))
    view.stretch.low.setValue(2.0)
    view.stretch.hdu.setText("0")
    view.stretch.hdu.editingFinished.emit()
    expected = Preprocessing("percentile", 2.0, 99.5, 0)
    assert window.state.preprocessing == expected
    # A new extension means the files are checked again, reading that extension.
    qtbot.waitUntil(lambda: window.state.scan is not scan, timeout=30000)

    window.tabs.setCurrentWidget(window.train_view)
    train = window.train_view
    assert "percentile (2–99.5 %), FITS extension 0" in train.dataset_label.text()
    train.form.set_config(train.form.config().__class__(backbone="tiny_test", epochs=3))
    train.start()
    qtbot.waitUntil(lambda: len(train.runs) == 1, timeout=60000)
    model = train.runs[0].outcome.model
    assert model.preprocessing == expected
    assert model.metadata["dataset"]["high_range_images"] == 24


def test_fits_header_columns_in_the_table_and_csv(qtbot, tiny_window, tmp_path):
    from classifier.modelfile import save_model
    from classifier.scan import scan_dataset
    from classifier.train import train
    from classifier.types import TrainConfig

    root = make_fits_dataset(tmp_path / "frames", per_class=10)
    config = TrainConfig(backbone="tiny_test", epochs=5, stretch="zscale")
    model_file = save_model(train(scan_dataset(root), config).model, tmp_path / "m.sortscope")
    rng = np.random.default_rng(3)
    night = tmp_path / "night"
    write_fits(night / "a.fits", sky_frame(rng, "top"), {"OBJECT": "NGC 6791", "EXPTIME": 60})
    write_fits(night / "b.fits.fz", sky_frame(rng, "left"), {"OBJECT": "M13"}, compressed=True)

    view = tiny_window.classify_view
    view.model_picker.open_model(model_file)
    qtbot.waitUntil(lambda: tiny_window.state.model_path == model_file, timeout=30000)
    assert "zscale" in view.model_picker.card.text()
    assert view.table_loader.preprocessing.stretch == "zscale"
    view.folder_edit.setText(str(night))
    view.fits_keys.setText("object, exptime")
    view.start()
    qtbot.waitUntil(lambda: tiny_window.state.results is not None, timeout=60000)
    results = view.results
    n = results.columnCount()
    columns = [results.headerData(c, Qt.Orientation.Horizontal) for c in range(n)]
    # FITS header columns come last, after Error and the Novelty of a model that describes
    # its training images (the CSV has no novelty column until a threshold is set).
    assert columns[-4:] == ["Error", "Novelty", "OBJECT", "EXPTIME"]
    proxy = view.results_table.proxy
    shown = {
        proxy.index(r, 1).data(): (proxy.index(r, n - 2).data(), proxy.index(r, n - 1).data())
        for r in range(proxy.rowCount())
    }
    assert shown == {"a.fits": ("NGC 6791", "60"), "b.fits.fz": ("M13", "")}
    out = tmp_path / "r.csv"
    view.export_csv_to(out)
    qtbot.waitUntil(out.exists, timeout=10000)
    header, *lines = read_csv(out)
    assert header[-3:] == ["error", "OBJECT", "EXPTIME"]
    assert sorted(line[-2:] for line in lines) == [["M13", ""], ["NGC 6791", "60"]]
    assert view.settings.value("fits_keys") == "OBJECT, EXPTIME"
