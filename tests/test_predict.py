import csv
import io

import numpy as np
import pytest
from datasets import CLASS_COLOURS, CSV_HEADER, make_dataset, noisy_image

from classifier.errors import Cancelled, SortscopeError
from classifier.export import write_csv
from classifier.predict import UNCERTAIN, classify_folder
from classifier.progress import CancelToken
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict-data")
    scan = scan_dataset(make_dataset(root, per_class=20))
    return train(scan, TrainConfig(backbone="tiny_test", epochs=15, learning_rate=0.02)).model


@pytest.fixture
def night(tmp_path):
    """A folder to classify: good images of known colour, broken and foreign files."""
    rng = np.random.default_rng(5)
    folder = tmp_path / "night"
    (folder / "sub").mkdir(parents=True)
    noisy_image(rng, CLASS_COLOURS["Red"]).save(folder / "b_red.png")
    noisy_image(rng, CLASS_COLOURS["green"]).save(folder / "a_green.jpg")
    noisy_image(rng, CLASS_COLOURS["Blue Sky"]).save(folder / "sub" / "c_blue.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    (folder / "readme.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"junk")
    return folder


def test_classify_folder_rows_sorted_with_errors_inline(model, night):
    streamed = []
    result = classify_folder(night, model, on_rows=streamed.append)
    assert [r.file for r in result.rows] == ["a_green.jpg", "b_red.png", "broken.png"]
    labels = {r.file: r.label for r in result.rows}
    assert labels["a_green.jpg"] == "green" and labels["b_red.png"] == "Red"
    broken = result.rows[2]
    assert broken.label == "" and broken.probabilities is None and "not an image" in broken.error
    assert result.n_errors == 1
    assert sum(len(chunk) for chunk in streamed) == 3
    good = result.rows[0]
    assert sum(good.probabilities) == pytest.approx(1.0, abs=1e-5)
    assert good.confidence == max(good.probabilities)

    deep = classify_folder(night, model, recursive=True)
    assert [r.file for r in deep.rows][-1] == "sub/c_blue.png"
    assert deep.rows[-1].label == "Blue Sky"


def test_threshold_marks_uncertain_but_keeps_probabilities(model, night):
    result = classify_folder(night, model, threshold=0.999999)
    good = [r for r in result.rows if not r.error]
    assert all(r.label == UNCERTAIN for r in good)
    assert all(r.probabilities is not None for r in good)
    with pytest.raises(SortscopeError, match=r"outside 0\.\.1"):
        classify_folder(night, model, threshold=1.5)


def test_cancel_mid_run(model, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(200):
        noisy_image(rng, (i % 255, 100, 100)).save(folder / f"f{i:03d}.png")
    token = CancelToken()

    def stop_early(p):
        if p.done >= 40:
            token.cancel()

    with pytest.raises(Cancelled):
        classify_folder(folder, model, batch_size=16, progress=stop_early, cancel=token)
    resumed = classify_folder(folder, model)
    assert 40 <= resumed.stats.from_cache < 200  # finished work is not redone


def test_csv_bytes_columns_and_formula_safety(model, night, tmp_path):
    (night / "=HYPERLINK(1).png").write_bytes((night / "b_red.png").read_bytes())
    (night / "-minus.png").write_bytes((night / "b_red.png").read_bytes())
    result = classify_folder(night, model)
    out = write_csv(result.rows, model.class_names, tmp_path / "out.csv")
    raw = out.read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[0] == CSV_HEADER
    files = [r[0] for r in rows[1:]]
    assert files == ["'-minus.png", "'=HYPERLINK(1).png", "a_green.jpg", "b_red.png", "broken.png"]
    by_file = {r[0]: r for r in rows[1:]}
    red = by_file["b_red.png"]
    assert red[1] == "Red" and red[6] == ""
    probs = [float(v) for v in red[3:6]]
    assert float(red[2]) == pytest.approx(max(probs)) and probs[1] == max(probs)
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)
    broken = by_file["broken.png"]
    assert broken[1:6] == ["", "", "", "", ""] and "not an image" in broken[6]
    assert len(rows) == 6 and all(len(r) == 7 for r in rows)
    assert not list(tmp_path.glob(".out.csv*"))  # no temporary file left behind


def test_label_for_is_uncertain_only_below_the_threshold():
    from classifier.predict import label_for

    names = ("galaxy", "star")
    assert label_for((0.3, 0.7), names, 0.6) == "star"
    assert label_for((0.3, 0.7), names, 0.7) == "star"  # at the threshold: still sure
    assert label_for((0.3, 0.7), names, 0.71) == UNCERTAIN
    assert label_for(np.array([0.5, 0.5], np.float32), names, 0.0) == "galaxy"  # ties: first


def test_hostile_files_become_error_rows(model, tmp_path):
    import contextlib

    from hostile import MAX_PIXELS, make_hostile_files

    with contextlib.ExitStack() as stack:
        expected = make_hostile_files(tmp_path / "night", stack)
        result = classify_folder(
            tmp_path / "night", model, max_pixels=MAX_PIXELS, fits_keys=["OBJECT"]
        )
    assert sorted(r.file for r in result.rows) == sorted(expected)
    assert all(r.extra == ("",) for r in result.rows)  # no header read from a pipe either
    for row in result.rows:
        assert bool(row.error) == bool(expected[row.file]), row.file
    errors = {r.file: r.error for r in result.rows}
    assert "not a regular file" in errors["pipe.png"] and "not read" in errors["zero.png"]


def test_csv_never_replaces_the_model_an_input_or_a_non_file(model, night, tmp_path):
    import os

    from classifier.export import OutputError, check_destination

    result = classify_folder(night, model)
    model_file = tmp_path / "k.sortscope"
    model_file.write_bytes(b"the model")
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "null.csv").symlink_to("/dev/null")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "link-to-model.csv").symlink_to(model_file)
    image = night / "b_red.png"
    before = image.read_bytes()
    refusals = {
        model_file: "which this run reads",
        tmp_path / "link-to-model.csv": "which this run reads",
        image: "which this run reads",
        tmp_path / "pipe.csv": "not a regular file",
        tmp_path / "null.csv": "not a regular file",
        tmp_path / "folder.csv": "it is a folder",
    }
    for target, reason in refusals.items():
        with pytest.raises(OutputError) as info:
            write_csv(result.rows, model.class_names, target, protected=[model_file])
        assert reason in info.value.what, target
    assert model_file.read_bytes() == b"the model" and image.read_bytes() == before
    assert (tmp_path / "pipe.csv").is_fifo() and (tmp_path / "null.csv").is_symlink()
    assert not list(tmp_path.glob(".*.tmp")) and not list(night.glob(".*.tmp"))
    check_destination("-", [model_file], probe=True)  # stdout: the command line's business
    check_destination(tmp_path / "new" / "r.csv", probe=True)  # a missing folder is created
    assert not list((tmp_path / "new").iterdir())


def test_a_failing_csv_write_keeps_the_results_and_says_where(model, night, tmp_path, monkeypatch):
    import errno

    from classifier import export, paths

    result = classify_folder(night, model)
    real = export.atomic_write
    wanted = tmp_path / "full-disk" / "results.csv"

    def full_disk(path, *args, **kwargs):
        if path == wanted:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(export, "atomic_write", full_disk)
    with pytest.raises(export.OutputError) as info:
        write_csv(result.rows, model.class_names, wanted)
    assert "the disk is full" in info.value.what and "Nothing is lost" in info.value.todo
    [saved] = (paths.data_dir() / "results").glob("results-*.csv")
    assert str(saved) in info.value.todo
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows[0] == CSV_HEADER and len(rows) == 1 + len(result.rows)


def test_a_feature_cache_that_cannot_be_written_only_warns(model, night, tmp_path, monkeypatch):
    import errno

    from classifier.feature_cache import FeatureCache

    calls = []

    def full_disk(self, digests, features):
        calls.append(len(digests))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FeatureCache, "put_many", full_disk)
    monkeypatch.setattr("classifier.features.SAVE_EVERY_ROWS", 1)  # try after every chunk
    for i in range(20):
        (night / f"red_{i}.png").write_bytes((night / "b_red.png").read_bytes())
    messages = []
    result = classify_folder(
        night, model, cache_dir=tmp_path / "cache", progress=lambda p: messages.append(p.message)
    )
    assert len([r for r in result.rows if not r.error]) == 22
    assert len(calls) == 1  # tried once, then the run went on without the cache
    warning = result.stats.cache_warning
    assert "No space left" in warning and "--cache-dir" in warning
    assert messages.count(warning) == 1


def test_non_utf8_names_round_trip_classify_csv_sort(model, night, tmp_path):
    import os

    from classifier.results_reader import read_results
    from classifier.sorting import SortMode, execute_sort, plan_sort

    raw = b"bad\xff\xfe.png"
    with open(os.path.join(os.fsencode(night), raw), "wb") as f:
        f.write((night / "b_red.png").read_bytes())
    result = classify_folder(night, model)
    out = write_csv(result.rows, model.class_names, tmp_path / "r.csv")
    files = [r[0] for r in csv.reader(io.StringIO(out.read_text(encoding="utf-8")))][1:]
    assert files == ["a_green.jpg", "b_red.png", "bad\\xff\\xfe.png", "broken.png"]
    back = read_results(out, night)
    assert [(r.file, r.label, r.error) for r in back] == [
        (r.file, r.label, r.error) for r in result.rows
    ]
    report = execute_sort(plan_sort(back, tmp_path / "sorted", SortMode.COPY))
    assert report.done == 3
    assert os.path.exists(os.path.join(os.fsencode(tmp_path / "sorted" / "Red"), raw))
