from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from classifier import backbones, engine


@pytest.fixture(autouse=True)
def fresh_engines(monkeypatch):
    monkeypatch.setattr(engine, "_engines", {})


@pytest.fixture
def convert_here(monkeypatch):
    """Convert in this process (as the child does), so monkeypatches reach the converter."""
    monkeypatch.setenv("SORTSCOPE_CONVERTING", "1")


def sample(size: int) -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 255, (4, size, size, 3)).astype(np.float32)


@pytest.mark.slow
def test_fast_engine_matches_keras_on_the_real_backbone():
    lite0 = backbones.get_backbone("efficientnet_lite0")
    fast = engine.load_engine(lite0)
    assert fast.name == "tflite", fast.fallback_reason
    reference = engine.KerasEngine(backbones.load_feature_model(lite0)).predict(sample(224))
    np.testing.assert_allclose(fast.predict(sample(224)), reference, atol=1e-4, rtol=0)
    # Other batch sizes reuse the same interpreter.
    np.testing.assert_allclose(fast.predict(sample(224)[:1]), reference[:1], atol=1e-4, rtol=0)


def test_conversion_runs_in_a_child_process_so_no_gui_freezes(monkeypatch):
    def not_here(*_):
        raise AssertionError("converted in this process")

    monkeypatch.setattr(engine, "convert", not_here)
    monkeypatch.setattr(engine, "STATUS_INTERVAL", 0.05)
    messages = []
    fast = engine.load_engine(backbones.get_backbone("tiny_test"), on_status=messages.append)
    assert fast.name == "tflite", fast.fallback_reason
    assert fast.predict(sample(32)).shape == (4, 192)
    # What is happening and how long it takes, then that it is still going: never frozen.
    assert messages[0].startswith("Converting ") and "(one time, up to a minute)…" in messages[0]
    assert len(messages) > 2 and all(" s so far…" in m for m in messages[1:])


def test_the_default_backbone_conversion_says_its_known_duration():
    lite0 = backbones.get_backbone("efficientnet_lite0")
    assert engine.conversion_message(lite0) == (
        "Converting EfficientNet-Lite0 for fast inference (one time, about 15 s)…"
    )
    assert engine.conversion_message(lite0, 6.2).endswith("(one time, about 15 s): 6 s so far…")


def test_conversion_is_cached_and_reused(monkeypatch, convert_here):
    tiny = backbones.get_backbone("tiny_test")
    messages = []
    first = engine.load_engine(tiny, on_status=messages.append)
    assert first.name == "tflite" and any("one time" in m for m in messages)
    assert len(list((engine.paths.cache_dir() / "engines").glob("*.tflite"))) == 1

    def no_conversion(*_):
        raise AssertionError("converted again")

    monkeypatch.setattr(engine, "convert", no_conversion)
    monkeypatch.setattr(engine, "_engines", {})
    again = engine.load_engine(tiny)
    np.testing.assert_allclose(again.predict(sample(32)), first.predict(sample(32)), atol=1e-6)


def test_failed_conversion_falls_back_to_keras_with_the_reason(monkeypatch, convert_here):
    def broken(*_):
        raise RuntimeError("converter unavailable")

    monkeypatch.setattr(engine, "convert", broken)
    fallback = engine.load_engine(backbones.get_backbone("tiny_test"))
    assert fallback.name == "keras" and "converter unavailable" in fallback.fallback_reason
    assert fallback.predict(sample(32)).shape == (4, 192)


def test_engine_can_be_forced(monkeypatch, convert_here):
    monkeypatch.setenv("SORTSCOPE_ENGINE", "keras")
    assert engine.load_engine(backbones.get_backbone("tiny_test")).name == "keras"
    monkeypatch.setenv("SORTSCOPE_ENGINE", "tflite")
    monkeypatch.setattr(engine, "convert", lambda *_: b"not a model")
    with pytest.raises(ValueError):
        engine.load_engine(backbones.get_backbone("tiny_test"))


def test_each_thread_gets_an_interpreter_of_its_own_with_equal_results():
    """Workers run inference side by side; results must not depend on which interpreter."""
    tiny = backbones.get_backbone("tiny_test")
    fast = engine.load_engine(tiny)
    assert fast.name == "tflite", fast.fallback_reason
    pool = engine.TFLiteEngine(engine._converted_path(tiny), instances=2)
    batches = [sample(32) + k for k in range(8)]
    expected = [fast.predict(b) for b in batches]
    with ThreadPoolExecutor(2) as threads:
        results = list(threads.map(pool.predict, batches))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert pool.interpreters <= 2
