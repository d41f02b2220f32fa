"""Run a backbone as fast as this machine allows.

Keras' `predict_on_batch` is the reference. A TensorFlow Lite copy of the same network, run by
the XNNPACK delegate, is 1.5-2x faster on a CPU; it is converted once per backbone (and
TensorFlow version), checked against Keras, and kept in the cache. Anything that goes wrong
on the way falls back to Keras with the reason kept, so results never depend on it.
Set SORTSCOPE_ENGINE=keras (or tflite) to force one.

A backbone whose `engine` is "int8" (a model trained with Speed: fast) runs on its full-integer
copy (classifier/int8_engine.py), converted and checked the same way. Its features differ a
little from the float network's, so it never falls back to Keras and SORTSCOPE_ENGINE does not
apply to it: a failure is reported instead.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from classifier import leftovers, paths
from classifier.atomic import atomic_write
from classifier.backbones import BACKBONES, Backbone, fast, get_backbone, load_feature_model
from classifier.errors import SortscopeError
from classifier.int8_engine import INT8, MIN_AGREEMENT, agreement, int8_copy
from classifier.tf_runtime import keras, muted_stderr, tensorflow

ENGINE_VERSION = 1
_CHILD_FLAG = "SORTSCOPE_CONVERTING"  # set in the child process that converts
MAX_DIFFERENCE = 1e-3  # largest feature difference from Keras a converted copy may show
MAX_INTERPRETERS = 8  # each holds its own copy of the packed weights
# Seconds the one-time conversion takes (fresh cache, 2 cores, weights conversion included:
# 14.4 s measured for EfficientNet-Lite0; its int8 copy 18 s with the float network built),
# said in the progress line while it runs.
CONVERSION_SECONDS = {"efficientnet_lite0": 15, "efficientnet_lite0-int8": 20}
STATUS_INTERVAL = 2.0  # seconds between "so far" reports while the child converts
CHILD_TIMEOUT = 1800.0


class KerasEngine:
    name = "keras"

    def __init__(self, model, fallback_reason: str = "") -> None:
        self.model = model
        self.fallback_reason = fallback_reason
        self._lock = threading.Lock()  # one batch at a time: Keras already uses every core

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)


def _interpreter_class():
    """LiteRT's standalone interpreter when installed (imports in 0.3 s instead of
    TensorFlow's 3 s: a cold `classify` starts at once), else TensorFlow's own."""
    try:
        with muted_stderr():
            from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        return tensorflow().lite.Interpreter


class _Interpreter:
    """One interpreter, resized to batches of one image."""

    def __init__(self, path: Path, threads: int) -> None:
        with warnings.catch_warnings(), muted_stderr():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
            self._interpreter = _interpreter_class()(model_path=str(path), num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]["index"]
        shape = [1, *self._input["shape"][1:]]
        self._interpreter.resize_tensor_input(self._input["index"], shape)
        with muted_stderr():
            self._interpreter.allocate_tensors()

    def run(self, image: np.ndarray) -> np.ndarray:
        self._interpreter.set_tensor(self._input["index"], image[None])
        self._interpreter.invoke()  # releases the GIL: other interpreters run meanwhile
        return np.array(self._interpreter.get_tensor(self._output)[0], dtype=np.float32)


class TFLiteEngine:
    """Several interpreters of one converted network, one per concurrent caller.

    On a CPU, `n` single-threaded interpreters, each fed by the thread that decoded its images,
    beat one `n`-threaded interpreter next to `n` decoding threads: nothing waits at XNNPACK's
    thread barriers while a decoder holds the core (2 cores: 165 vs 133 img/s end to end).
    One image per invoke keeps the working set in the CPU's cache (105 vs 90 img/s per thread
    for batches of 32).
    """

    fallback_reason = ""

    def __init__(self, path: Path, instances: int | None = None, name: str = "tflite") -> None:
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        self.name = name  # "tflite-int8" for the full-integer copy
        cores = os.cpu_count() or 2
        self.instances = instances or min(cores, MAX_INTERPRETERS)
        self._threads = max(1, cores // self.instances)
        self._path = Path(path)
        self._idle: queue.SimpleQueue[_Interpreter] = queue.SimpleQueue()
        self._idle.put(_Interpreter(self._path, self._threads))  # a broken file fails here
        self._made = 1
        self._lock = threading.Lock()

    @property
    def interpreters(self) -> int:
        """How many interpreters exist so far (one per caller that ran at the same time)."""
        return self._made

    def _acquire(self) -> _Interpreter:
        with self._lock:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                if self._made < self.instances:
                    self._made += 1
                    return _Interpreter(self._path, self._threads)
        return self._idle.get()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        images = np.ascontiguousarray(batch, np.float32)
        interpreter = self._acquire()
        try:
            return np.stack([interpreter.run(image) for image in images])
        finally:
            self._idle.put(interpreter)


def _tensorflow_version() -> str:
    """TensorFlow's version from the installed package's metadata, without importing it."""
    for distribution in ("tensorflow", "tensorflow-cpu", "tensorflow-macos"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(distribution)
    return tensorflow().__version__


def _converted_path(backbone: Backbone) -> Path:
    name = f"{backbone.engine_key}-tf{_tensorflow_version()}-e{ENGINE_VERSION}.tflite"
    return paths.cache_dir() / "engines" / name


def convert(model) -> bytes:
    """A TFLite flatbuffer of `model` (any batch size of size x size RGB images)."""
    import tensorflow as tf

    # from_keras_model keeps the batch dimension dynamic; converting a hand-made concrete
    # function gave NaN features on this TensorFlow, which the check below would catch.
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    # The converter prints its export summary to stdout, where JSON results may be going.
    with muted_stderr(), contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def conversion_message(backbone: Backbone, elapsed: float | None = None) -> str:
    """What the one-time conversion is and how long it takes, for progress lines: the first
    training or classification otherwise looks frozen for its ~15 s."""
    int8 = backbone.engine == INT8
    expected = CONVERSION_SECONDS.get(backbone.name + ("-int8" if int8 else ""))
    how_long = f"about {expected} s" if expected else "up to a minute"
    what = "an int8 copy of " if int8 else ""
    text = f"Converting {what}{backbone.title} for fast inference (one time, {how_long})"
    return text + (f": {elapsed:.0f} s so far…" if elapsed else "…")


def _convert_in_child(backbone: Backbone, model_source, on_status=None) -> bool:
    """Convert a backbone in a child process; True when the checked copy exists.

    The converter holds Python's GIL for seconds at a time: in-process it would freeze the
    window (2 s measured). A child has its own interpreter, so the GUI stays responsive.
    Registry backbones are built by name there; others (fine-tuned, trained from scratch)
    travel as a temporary .keras file. `on_status` hears how long it has been running, every
    STATUS_INTERVAL seconds, so a progress line shows it is alive.
    """
    if os.environ.get(_CHILD_FLAG):
        return False
    on_status = on_status or (lambda _message: None)
    env = {**os.environ, _CHILD_FLAG: "1"}
    target = str(_converted_path(backbone))
    with leftovers.temporary_folder("convert") as tmp:
        known = BACKBONES.get(backbone.name)
        if known is not None and _as_run(known, backbone) == backbone:
            source = ["--backbone", backbone.name]
        else:
            keras_file = Path(tmp) / "backbone.keras"
            model_source().save(keras_file)
            source = ["--keras-file", str(keras_file)]
        command = [sys.executable, "-m", "classifier.engine", *source, "--out", target]
        command += ["--engine", backbone.engine]
        returncode = _wait_reporting(command, env, backbone, on_status)
    return returncode == 0 and Path(target).is_file()


def _as_run(known: Backbone, backbone: Backbone) -> Backbone:
    """The registry's backbone with `backbone`'s engine and decoding."""
    return fast(known) if backbone.engine == INT8 else known


def _wait_reporting(command: list[str], env: dict, backbone: Backbone, on_status) -> int | None:
    """Run the converting child to its end (None: killed after CHILD_TIMEOUT seconds)."""
    start = time.monotonic()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            return child.wait(timeout=STATUS_INTERVAL)
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - start
            if elapsed > CHILD_TIMEOUT:
                child.kill()
                child.wait()
                return None
            on_status(conversion_message(backbone, elapsed))


def _checked_tflite(
    title: str,
    model_source,
    on_status,
    path: Path,
    backbone: Backbone | None = None,
    int8: bool = False,
) -> TFLiteEngine:
    """The converted copy at `path`, made (in a child process when `backbone` is given) and
    checked against Keras if it does not exist yet: a float copy must give the same features,
    an int8 copy features agreeing at MIN_AGREEMENT."""
    int8 = int8 or (backbone is not None and backbone.engine == INT8)
    name = "tflite-int8" if int8 else "tflite"
    if not path.is_file():
        if backbone is not None:
            on_status(conversion_message(backbone))
            if _convert_in_child(backbone, model_source, on_status):
                return TFLiteEngine(path, name=name)
        else:
            on_status(f"Converting {title} for fast inference (one time)…")
        model = model_source()
        if int8:
            content, sample = int8_copy(model)
        else:
            content = convert(model)
            sample = np.random.default_rng(0).uniform(0, 255, (2, *model.input_shape[1:]))
        tmp_engine_path = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.check")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_engine_path.write_bytes(content)
        try:
            sample = sample.astype(np.float32)
            got = TFLiteEngine(tmp_engine_path).predict(sample)
            want = KerasEngine(model).predict(sample)
        finally:
            tmp_engine_path.unlink(missing_ok=True)
        if int8 and not agreement(got, want) >= MIN_AGREEMENT:
            raise ValueError(
                f"the int8 copy's features agree with float32 at {agreement(got, want):.3f}, "
                f"below {MIN_AGREEMENT}"
            )
        if not int8 and not np.abs(got - want).max() <= MAX_DIFFERENCE:
            raise ValueError(f"converted copy differs from Keras by {np.abs(got - want).max():.2g}")
        with atomic_write(path, durable=False) as f:
            f.write(content)
    return TFLiteEngine(path, name=name)


_engines: dict[str, object] = {}
_engines_lock = threading.Lock()


def load_engine(backbone: Backbone, on_status=None):
    """The fastest working engine for `backbone`, made once per process."""
    on_status = on_status or (lambda _message: None)
    int8 = backbone.engine == INT8
    choice = INT8 if int8 else os.environ.get("SORTSCOPE_ENGINE", "auto").lower()
    key = f"{backbone.engine_key}:{choice}"
    with _engines_lock:
        if key in _engines:
            return _engines[key]
        if choice != "keras":
            # A copy converted and checked before needs no Keras network at all: faster start.
            with contextlib.suppress(Exception):
                name = "tflite-int8" if int8 else "tflite"
                _engines[key] = TFLiteEngine(_converted_path(backbone), name=name)
                return _engines[key]

        def model_source():
            keras()
            return load_feature_model(backbone)

        if choice == "keras":
            engine = KerasEngine(model_source())
        else:
            try:
                path = _converted_path(backbone)
                engine = _checked_tflite(backbone.title, model_source, on_status, path, backbone)
            except Exception as exc:  # any failure: Keras gives the same features, slower
                if int8:  # but not those of the int8 copy the model was trained on
                    raise _no_int8(backbone, exc) from exc
                if choice == "tflite":
                    raise
                engine = KerasEngine(model_source(), f"{type(exc).__name__}: {exc}")
        _engines[key] = engine
        return engine


def _no_int8(backbone: Backbone, exc: Exception) -> SortscopeError:
    if isinstance(exc, SortscopeError):
        return exc
    return SortscopeError(
        f"The int8 copy of {backbone.title} that this model runs on could not be made "
        f"({type(exc).__name__}: {exc}).",
        "Train the model again with Speed: standard (without --int8); please report this.",
    )


def engines_in_use() -> list[tuple[str, str, str]]:
    """(backbone cache key, engine name, why the fast one fell back) of every engine this
    process made, for Help ▸ About."""
    with _engines_lock:
        return [
            (key.rsplit(":", 1)[0], engine.name, getattr(engine, "fallback_reason", ""))
            for key, engine in _engines.items()
        ]


def _child_main(argv: list[str]) -> None:
    """The child process of _convert_in_child: --backbone NAME | --keras-file F, --out PATH,
    --engine fp32|int8."""
    options = dict(zip(argv[::2], argv[1::2], strict=True))
    k = keras()
    if "--backbone" in options:
        backbone = get_backbone(options["--backbone"])
        network = load_feature_model(backbone)
    else:
        network = k.saving.load_model(options["--keras-file"], compile=False, safe_mode=True)
    int8 = options.get("--engine") == INT8
    _checked_tflite(network.name, lambda: network, print, Path(options["--out"]), int8=int8)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
