import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from classifier import backbones, efficientnet_lite, images, torchfile

CAT_CLASSES = {281, 282, 283, 284, 285}
COFFEE_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug


def _as_jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _imagenet_lite(variant: str):
    state = torchfile.read_state_dict(backbones._lite_weights_file(variant))
    model = efficientnet_lite.build(variant, include_top=True)
    efficientnet_lite.assign_weights(model, efficientnet_lite.torch_to_keras_weights(state, model))
    return model


@pytest.fixture(scope="module")
def imagenet_lite0():
    return _imagenet_lite("lite0")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_lite_networks_recognise_imagenet_photos(variant):
    model = _imagenet_lite(variant)
    size = efficientnet_lite.VARIANTS[variant].resolution
    for photo, expected in [("chelsea", CAT_CLASSES), ("coffee", COFFEE_CLASSES)]:
        # Through Sortscope's own loader, as training and classification see images.
        pixels = images.decode_for_model(_as_jpeg(getattr(data, photo)()), size)
        probabilities = np.asarray(model(pixels[None].astype(np.float32), training=False))[0]
        assert int(np.argmax(probabilities)) in expected, (variant, photo)
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert backbones.get_backbone(f"efficientnet_{variant}").availability().available


@pytest.mark.slow
def test_feature_model_converts_weights_once_and_reuses_them(monkeypatch, imagenet_lite0):
    backbone = backbones.get_backbone("efficientnet_lite0")
    monkeypatch.setattr(backbones, "_models", {})
    first = backbone.builder()
    converted = list((backbones.paths.cache_dir() / "backbones").glob("*.npz"))
    assert [p.name for p in converted] == ["efficientnet_lite0-v1.npz"]

    def no_checkpoint_reads(*_):
        raise AssertionError("the converted copy should have been used")

    monkeypatch.setattr(torchfile, "read_state_dict", no_checkpoint_reads)
    second = backbone.builder()
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # The feature model is the classifier without its last layer.
    x = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype(np.float32)
    features = np.asarray(second(x))
    penultimate = imagenet_lite0.get_layer("features").output
    import keras

    trunk = keras.Model(imagenet_lite0.input, penultimate)
    np.testing.assert_allclose(features, np.asarray(trunk(x)), atol=1e-4)
    assert features.shape == (1, backbone.feature_dim)


def test_registry_lists_offline_status_without_tracebacks(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    listed = {b.name: b.availability() for b in backbones.listed_backbones()}
    assert listed["efficientnet_lite0"].available
    for name in ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "inception_v3"):
        assert not listed[name].available
        assert "not on this computer" in listed[name].reason
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "efficientnetb0_notop.h5").write_bytes(b"x")
    assert backbones.get_backbone("efficientnet_b0").availability().available


def test_unavailable_backbone_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(backbones.BackboneUnavailable, match="cannot be used"):
        backbones.load_feature_model(backbones.get_backbone("inception_v3"))
    with pytest.raises(backbones.BackboneUnavailable, match="no backbone called"):
        backbones.get_backbone("resnet9000")
