import json
import zipfile

import numpy as np
import pytest
from datasets import make_dataset

from classifier import modelfile
from classifier.modelfile import (
    ModelFileError,
    export_keras,
    load_model,
    read_info,
    read_metadata,
    save_model,
)
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("model-data")
    scan = scan_dataset(make_dataset(root, per_class=15))
    return train(scan, TrainConfig(backbone="tiny_test", epochs=5, learning_rate=0.01))


def test_round_trip_keeps_predictions_classes_and_metadata(trained, tmp_path):
    path = save_model(trained.model, tmp_path / "stars.sortscope")
    loaded = load_model(path)
    assert loaded.class_names == ("Blue Sky", "Red", "green")
    meta = read_metadata(path)
    assert meta["schema_version"] == modelfile.SCHEMA_VERSION
    assert meta["backbone"]["name"] == "tiny_test" and meta["backbone"]["input_size"] == 32
    for key in ("app_version", "training", "dataset", "test_metrics", "created"):
        assert key in meta
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(loaded.model(x)), np.asarray(trained.model.model(x)), atol=1e-6
    )
    assert loaded.backbone.cache_key == "tiny_test-v1-32px"
    assert loaded.feature_model.output_shape[-1] == 192


def test_failures_become_clear_messages(trained, tmp_path):
    good = save_model(trained.model, tmp_path / "good.sortscope")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.sortscope")

    truncated = tmp_path / "truncated.sortscope"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="damaged or incomplete"):
        load_model(truncated)

    text = tmp_path / "notes.sortscope"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a Sortscope model"):
        load_model(text)

    plain = tmp_path / "plain.keras"
    trained.model.model.save(plain)
    with pytest.raises(ModelFileError, match="plain Keras model"):
        load_model(plain)

    newer = tmp_path / "newer.sortscope"
    _rewrite_metadata(good, newer, schema_version=modelfile.SCHEMA_VERSION + 1)
    with pytest.raises(ModelFileError, match="newer version of Sortscope") as info:
        load_model(newer)
    assert "Update Sortscope" in info.value.todo

    foreign = tmp_path / "foreign.sortscope"
    _rewrite_metadata(good, foreign, format="something-else")
    with pytest.raises(ModelFileError, match="not a Sortscope model"):
        read_metadata(foreign)


def _rewrite_metadata(src, dst, **changes):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == modelfile.META_NAME:
                data = json.dumps({**json.loads(data), **changes}).encode()
            zout.writestr(item, data)


def test_loading_never_runs_code_from_the_file(tmp_path, trained):
    from classifier.tf_runtime import keras

    k = keras()
    inputs = k.Input((32, 32, 3))
    evil = k.Model(inputs, k.layers.Lambda(lambda t: t * 2)(inputs))
    keras_file = tmp_path / "evil.keras"
    evil.save(keras_file)
    bundle = tmp_path / "evil.sortscope"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr(modelfile.META_NAME, json.dumps(trained.model.info.to_json()))
        archive.write(keras_file, modelfile.KERAS_NAME)
    with pytest.raises(ModelFileError, match="damaged"):
        load_model(bundle)


def test_failed_save_leaves_the_previous_file_intact(trained, tmp_path, monkeypatch):
    path = save_model(trained.model, tmp_path / "model.sortscope")
    before = path.read_bytes()

    def broken_writestr(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken_writestr)
    with pytest.raises(OSError):
        save_model(trained.model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.sortscope"]


def test_export_plain_keras_with_labels(trained, tmp_path):
    keras_file, labels = export_keras(trained.model, tmp_path / "out" / "stars.keras")
    assert labels.read_text(encoding="utf-8") == "Blue Sky\nRed\ngreen\n"
    from classifier.tf_runtime import keras

    plain = keras().saving.load_model(keras_file, compile=False)
    assert plain.output_shape == (None, 3)


def test_numpy_head_matches_keras_and_survives_saving(trained, tmp_path):
    features = np.random.default_rng(2).normal(size=(6, 192)).astype(np.float32)
    expected = np.asarray(trained.model.head(features))
    np.testing.assert_allclose(trained.model.predict_head(features), expected, atol=1e-6)
    lazy = load_model(save_model(trained.model, tmp_path / "m.sortscope"), lazy=True)
    np.testing.assert_allclose(lazy.predict_head(features), expected, atol=1e-6)


def test_warm_classification_needs_no_tensorflow(trained, tmp_path):
    import os
    import subprocess
    import sys

    from datasets import make_dataset

    from classifier.predict import classify_folder

    model_path = save_model(trained.model, tmp_path / "m.sortscope")
    folder = make_dataset(tmp_path / "night", per_class=3) / "Red"
    cold = classify_folder(folder, load_model(model_path))  # fills the feature cache
    code = (
        "import sys; from classifier.modelfile import load_model; "
        "from classifier.predict import classify_folder; "
        f"r = classify_folder({str(folder)!r}, load_model({str(model_path)!r}, lazy=True)); "
        "print(len(r.rows), r.stats.computed, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    assert out.stdout.split() == [str(len(cold.rows)), "0", "False"]


def _shape(value):
    """The keys of a JSON document all the way down (list items by their first one)."""
    if isinstance(value, dict):
        return {key: _shape(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "value"


def test_saved_description_has_todays_keys_and_reads_back_the_same(trained, tmp_path, capsys):
    from test_model_info import TODAY

    path = save_model(trained.model, tmp_path / "m.sortscope")
    with zipfile.ZipFile(path) as archive:
        raw = json.loads(archive.read(modelfile.META_NAME))
    assert raw == trained.model.info.to_json()
    assert read_info(path).to_json() == raw == read_metadata(path)
    assert _shape(raw) == _shape(TODAY)  # sortscope.json and `sortscope info` keep their keys
    assert load_model(path, lazy=True).info == read_info(path)
    from classifier import cli

    capsys.readouterr()
    assert cli.main(["info", str(path)]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out) == raw  # `sortscope info` prints the file's keys
    with pytest.raises(TypeError):
        trained.model.metadata["class_names"] = ["changed"]  # read-only for the ui
