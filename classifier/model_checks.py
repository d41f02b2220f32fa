"""Checks between a model's description and its network: a file that fails one would classify
wrongly (a head with more outputs than names) or crash later (a layer that is not there)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from classifier.checked_json import Invalid
from classifier.model_info import ModelInfo

HEAD_LAYER = "head"
KERAS_CONFIG = "config.json"  # inside model.keras: the network's layers, readable without Keras


def check_head(layers, info: ModelInfo) -> None:
    """The head's layers must chain from the backbone's features to one output per class."""
    width = info.backbone.feature_dim
    for i, (kernel, bias, _) in enumerate(layers):
        if kernel.dtype.kind != "f" or bias.dtype.kind != "f":
            raise Invalid(f"the head's layer {i} does not hold numbers")
        if kernel.ndim != 2 or kernel.shape[0] != width or bias.shape != kernel.shape[1:]:
            raise Invalid(
                f"the head's layer {i} takes {kernel.shape[0] if kernel.ndim == 2 else '?'} "
                f"inputs, but {width} arrive (backbone.feature_dim or the layer before)"
            )
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise Invalid(f"the head's layer {i} holds NaN or infinite weights")
        width = kernel.shape[1]
    if not layers:
        raise Invalid("the head has no layers")
    if width != len(info.class_names):
        raise Invalid(
            f"the head gives {width} outputs but class_names lists {len(info.class_names)}"
        )


def check_network(model, info: ModelInfo) -> None:
    size = info.backbone.input_size
    if tuple(model.input_shape[1:]) != (size, size, 3):
        raise Invalid(f"the network takes {model.input_shape[1:]} images, not {size}x{size}x3")
    if model.output_shape[-1] != len(info.class_names):
        raise Invalid(
            f"the network gives {model.output_shape[-1]} outputs but class_names lists "
            f"{len(info.class_names)}"
        )
    features = model.get_layer(info.backbone.layer).output_shape[-1]
    if features != info.backbone.feature_dim:
        raise Invalid(f"the backbone gives {features} features, not backbone.feature_dim")
    model.get_layer(HEAD_LAYER)


def check_layer_names(keras_bytes: bytes, info: ModelInfo) -> None:
    """The layers the description names exist in the network (read from model.keras' own
    config.json, without TensorFlow)."""
    with zipfile.ZipFile(io.BytesIO(keras_bytes)) as inner:
        config = json.loads(inner.read(KERAS_CONFIG))
    try:
        names = {layer["name"] for layer in config["config"]["layers"]}
    except (KeyError, TypeError) as exc:
        raise Invalid("model.keras does not describe a network Sortscope saved") from exc
    for name in (info.backbone.layer, HEAD_LAYER):
        if name not in names:
            raise Invalid(f"the network has no layer {name!r} (backbone.layer)")
