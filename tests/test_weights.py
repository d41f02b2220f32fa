"""Keras-application weights: import a file or download one, checked before it is installed."""

import h5py
import numpy as np
import pytest

from classifier import backbones, weights
from classifier.errors import SortscopeError
from classifier.progress import Progress


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path / "keras-home" / "models"


def _weights_file(path, constructor="MobileNetV3Small"):
    """A weights file in the format Keras downloads (legacy HDF5), with random weights."""
    from keras.src.legacy.saving import legacy_h5_format

    from classifier.tf_runtime import keras

    k = keras()
    model = getattr(k.applications, constructor)(
        include_top=False, weights=None, input_shape=(224, 224, 3), pooling="avg"
    )
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def test_import_checks_the_file_and_makes_the_backbone_available(keras_home, tmp_path):
    backbone = backbones.get_backbone("mobilenet_v3_small")
    assert not backbone.availability().available
    assert "import" in backbone.availability().reason
    wrong = tmp_path / "notes.h5"
    wrong.write_text("not weights")
    with pytest.raises(SortscopeError, match="does not hold MobileNetV3 Small weights"):
        weights.import_weights("mobilenet_v3_small", wrong)
    other = _weights_file(tmp_path / "v2.h5", "MobileNetV2")
    with pytest.raises(SortscopeError, match="weights_mobilenet_v3_small"):
        weights.import_weights("mobilenet_v3_small", other)
    assert not keras_home.exists() or not any(keras_home.iterdir())  # nothing installed

    installed = weights.import_weights("mobilenet_v3_small", _weights_file(tmp_path / "w.h5"))
    assert installed == weights.target_path("mobilenet_v3_small") and installed.parent == keras_home
    assert backbone.availability().available
    features = backbones.load_feature_model(backbone)(np.zeros((1, 224, 224, 3), np.float32))
    assert features.shape == (1, 576)
    with pytest.raises(SortscopeError, match="not a backbone"):
        weights.import_weights("efficientnet_lite0", installed)


def test_download_reports_progress_and_offline_failures_say_what_to_do(keras_home, tmp_path):
    source = _weights_file(tmp_path / "served.h5")
    reports: list[Progress] = []
    installed = weights.download_weights("mobilenet_v3_small", reports.append, url=source.as_uri())
    assert installed.read_bytes() == source.read_bytes()
    assert reports and reports[-1].done == source.stat().st_size
    with pytest.raises(SortscopeError) as offline:
        weights.download_weights("efficientnet_b0", url=(tmp_path / "missing.h5").as_uri())
    assert "could not be downloaded" in offline.value.what
    assert "import the file" in offline.value.todo
    assert not weights.target_path("efficientnet_b0").exists()
