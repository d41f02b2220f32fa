"""Speed: fast (int8): the full-integer engine, its place in cache keys and model files, the
cheaper JPEG draft, `train --int8` and the Train form's option."""

import io
import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from datasets import make_dataset
from PIL import Image

from classifier import backbones, engine, images, modelfile
from classifier.checked_json import Invalid
from classifier.features import open_cache
from classifier.int8_engine import (
    CALIBRATION_IMAGES,
    MIN_AGREEMENT,
    agreement,
    generic_images,
)
from classifier.model_info import ModelInfo, model_title
from classifier.predict import classify_folder
from classifier.scan import scan_dataset
from classifier.train import train, validate_config
from classifier.types import TrainConfig

TINY = backbones.get_backbone("tiny_test")
FAST = TrainConfig(backbone="tiny_test", epochs=12, learning_rate=0.01, batch_size=16)


@pytest.fixture(autouse=True)
def fresh_engines(monkeypatch):
    monkeypatch.setattr(engine, "_engines", {})
    monkeypatch.setenv("SORTSCOPE_CONVERTING", "1")  # convert here: no child process


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8-data")
    return scan_dataset(make_dataset(root, per_class=20, fmt="jpg"))


def test_the_calibration_set_is_generated_the_same_every_time():
    a = generic_images(32, 6)
    assert a.shape == (6, 32, 32, 3) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 255 and a.std() > 20
    np.testing.assert_array_equal(a, generic_images(32, 6))
    assert not np.array_equal(a, generic_images(32, 6, seed=1))
    assert CALIBRATION_IMAGES >= 32


def test_engines_and_decoding_are_part_of_the_cache_key(tmp_path):
    fast = backbones.fast(TINY)
    assert (fast.engine, fast.decode) == ("int8", "draft75")
    assert fast.network_key == TINY.network_key == TINY.cache_key == "tiny_test-v1-32px"
    assert fast.engine_key == "tiny_test-v1-32px-int8c1"
    assert fast.cache_key == "tiny_test-v1-32px-int8c1-draft75"
    assert open_cache(fast, tmp_path).folder != open_cache(TINY, tmp_path).folder
    assert engine._converted_path(fast) != engine._converted_path(TINY)


def test_int8_features_agree_with_float32_above_the_threshold(tmp_path):
    int8 = engine.load_engine(backbones.fast(TINY))
    fp32 = engine.load_engine(TINY)
    assert (int8.name, fp32.name) == ("tflite-int8", "tflite")
    pixels = generic_images(32, 8, seed=3)
    a, b = int8.predict(pixels), fp32.predict(pixels)
    assert agreement(a, b) >= MIN_AGREEMENT
    assert not np.array_equal(a, b)  # really another network


def test_an_int8_copy_that_disagrees_is_refused_and_never_replaced_by_keras(monkeypatch):
    monkeypatch.setattr(engine, "agreement", lambda *_: 0.5)  # as if it agreed poorly
    with pytest.raises(Exception, match="int8 copy") as error:
        engine.load_engine(backbones.fast(TINY))
    assert "Speed: standard" in error.value.todo
    assert not engine._converted_path(backbones.fast(TINY)).exists()


def test_the_cheaper_draft_decodes_jpegs_at_a_smaller_scale_and_the_default_is_unchanged():
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (768, 1024, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    assert images.decode_rgb(data, (224, 224)).size == (512, 384)
    assert images.decode_rgb(data, (224, 224), decode="draft75").size == (256, 192)
    # The default is bit-identical to Pillow's draft, transpose and resize as before.
    with Image.open(io.BytesIO(data)) as reference:
        reference.draft("RGB", (224, 224))
        want = np.asarray(
            reference.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR, reducing_gap=3.0)
        )
    np.testing.assert_array_equal(images.decode_for_model(data, 224), want)
    fast = images.decode_for_model(data, 224, decode="draft75")
    assert fast.shape == (224, 224, 3) and not np.array_equal(fast, want)


def test_a_model_trained_int8_records_it_reloads_and_classifies_with_the_int8_engine(
    scan, tmp_path
):
    outcome = train(scan, replace(FAST, int8=True))
    assert outcome.evaluation.accuracy >= 0.9
    assert outcome.extraction.engine == "tflite-int8"
    path = modelfile.save_model(outcome.model, tmp_path / "fast.sortscope")
    meta = json.loads(zipfile.ZipFile(path).read("sortscope.json"))
    assert meta["backbone"]["engine"] == "int8" and meta["input"]["decode"] == "draft75"
    assert meta["training"]["int8"] is True
    loaded = modelfile.load_model(path, lazy=True)
    assert (
        model_title(loaded.info)
        == model_title(loaded.info.run.config)
        == ("Tiny test network, fast (int8)")
    )
    assert loaded.backbone.cache_key == backbones.fast(TINY).cache_key
    folder = scan.root / "Red"
    result = classify_folder(folder, loaded, cache_dir=tmp_path / "fresh")
    assert result.stats.engine == "tflite-int8" and result.stats.computed == 20
    assert {row.label for row in result.rows} == {"Red"}


def test_float_models_keep_their_files_and_behaviour(scan, tmp_path):
    model = train(scan, FAST).model
    meta = model.info.to_json()
    # Written as before the option existed: no engine, decode or int8 keys at all.
    assert "engine" not in meta["backbone"] and "decode" not in meta["input"]
    assert "int8" not in meta["training"]
    assert model.backbone.cache_key == TINY.cache_key
    assert (model.backbone.engine, model.backbone.decode) == ("fp32", "draft")
    info = ModelInfo.from_json(meta)
    assert (info.backbone.engine, info.input.decode, info.run.config.int8) == (
        "fp32",
        "draft",
        False,
    )
    assert info.to_json() == meta


@pytest.mark.parametrize(
    ("where", "value"), [("backbone", {"engine": "int4"}), ("input", {"decode": "draft/2"})]
)
def test_unknown_engines_and_decodings_are_refused_on_load(scan, where, value):
    meta = train(scan, FAST).model.info.to_json()
    meta[where] |= value
    with pytest.raises(Invalid, match=f"{where}.{next(iter(value))}"):
        ModelInfo.from_json(meta)


def test_int8_is_for_transfer_learning_without_fine_tuning():
    validate_config(TrainConfig(int8=True))
    for config in (
        TrainConfig(int8=True, fine_tune_blocks=2),
        TrainConfig(int8=True, model_type="small_cnn"),
    ):
        with pytest.raises(Exception, match="fast \\(int8\\)"):
            validate_config(config)


def test_the_train_form_offers_speed_standard_or_fast(qtbot):
    from ui.train_form import SPEED_HINT, TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    assert [form.speed.itemText(i) for i in range(2)] == ["Standard", "Fast (int8)"]
    assert form.config().int8 is False
    form.speed.setCurrentIndex(1)
    assert form.config().int8 is True and form.check()
    assert "half the time" in SPEED_HINT and "int8" in form.speed.toolTip()
    form.set_config(TrainConfig())
    assert form.speed.currentIndex() == 0
    form.set_config(TrainConfig(int8=True))
    assert form.speed.currentText() == "Fast (int8)"
    form.advanced.model_type.setCurrentIndex(form.advanced.model_type.findData("small_cnn"))
    assert not form.speed.isEnabled() and form.config().int8 is False
