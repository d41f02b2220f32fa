"""The "fast (int8)" engine: a full-integer copy of a backbone, about twice as fast on a CPU.

The TFLite converter quantises weights and activations to 8 bits (`Optimize.DEFAULT`, a
representative dataset, `TFLITE_BUILTINS_INT8`), keeping float32 input and output, so the same
interpreter code runs it. Its activation ranges come from a fixed calibration set that Sortscope
generates itself (seeded, versioned: CALIBRATION_VERSION), not from a dataset: one converted
copy per backbone serves every dataset, like the float copy, and a model file names all it needs
(`backbone.engine`). Each conversion is checked against the float network's features on a
second generated set; a copy that agrees less than MIN_AGREEMENT is refused. The same converter
call makes the int8 TFLite exports (classifier/exports_tflite.py), calibrated there on the
model's training images.

Measured (bench/README.md, "fast (int8)"): EfficientNet-Lite0 features agree with float32 at a
mean cosine of ~0.99 on real images; calibrating on a dataset's own images instead agrees no
better.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from classifier.tf_runtime import muted_stderr

INT8 = "int8"
FP32 = "fp32"
ENGINES = (FP32, INT8)
CALIBRATION_VERSION = 1  # bump when the generated set changes: it keys engines and caches
CALIBRATION_SEED = 20261207
CALIBRATION_IMAGES = 64
CHECK_SEED = 7  # a different set to check the converted copy on
CHECK_IMAGES = 8
MIN_AGREEMENT = 0.97  # mean cosine similarity to float32 features a converted copy must reach


def convert_int8(model, calibration: np.ndarray) -> bytes:
    """A full-integer TFLite flatbuffer of the Keras `model`, its activation ranges taken from
    `calibration` (N x H x W x 3 float32 pixels 0..255); float32 input and output."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    images = np.asarray(calibration, np.float32)
    converter.representative_dataset = lambda: ([image[None]] for image in images)
    # Integer kernels throughout; the float32 input and output stay, so the same code runs it.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with muted_stderr(), contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def _smooth_noise(rng: np.random.Generator, size: int, slope: float) -> np.ndarray:
    """A size x size x 3 field with a 1/f^slope spectrum (the statistics of photographs),
    scaled to 0..1."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    channels = []
    for _ in range(3):
        spectrum = rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)
        field = np.fft.irfft2(spectrum / radius**slope, s=(size, size))
        channels.append(field)
    mixed = np.stack(channels, -1) @ rng.normal(0.6, 0.4, (3, 3))  # correlated colours
    low, high = np.percentile(mixed, [1, 99])
    return np.clip((mixed - low) / max(high - low, 1e-6), 0.0, 1.0)


def _shapes(rng: np.random.Generator, canvas: np.ndarray) -> None:
    """Paint a few flat-coloured ellipses and rectangles in place (edges, clip-art)."""
    size = canvas.shape[0]
    yy, xx = np.mgrid[0:size, 0:size] / size
    for _ in range(rng.integers(1, 6)):
        cx, cy, rx, ry = rng.uniform(0, 1), rng.uniform(0, 1), *rng.uniform(0.05, 0.4, 2)
        if rng.random() < 0.5:
            inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        else:
            inside = (np.abs(xx - cx) <= rx) & (np.abs(yy - cy) <= ry)
        canvas[inside] = rng.uniform(0, 1, 3)


def generic_images(size: int, count: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED):
    """`count` generated size x size RGB images (float32, 0..255), the same for the same
    arguments on every computer: natural-image-like noise at several roughnesses, some with
    flat shapes on top, some on a white background like clip-art."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.float32)
    for i in range(count):
        image = _smooth_noise(rng, size, rng.uniform(0.8, 1.6))
        contrast = rng.uniform(0.3, 1.0)
        image = 0.5 + (image - 0.5) * contrast + rng.uniform(-0.2, 0.2)
        if i % 4 == 1:
            _shapes(rng, image)
        elif i % 4 == 2:
            background = np.ones_like(image)
            _shapes(rng, background)
            image = background
        out[i] = np.clip(image, 0.0, 1.0) * 255.0
    return np.round(out)


def agreement(features: np.ndarray, reference: np.ndarray) -> float:
    """Mean cosine similarity of matching rows (1.0: the same directions)."""
    a = np.asarray(features, np.float64)
    b = np.asarray(reference, np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)))


def int8_copy(model) -> tuple[bytes, np.ndarray]:
    """(flatbuffer, check pixels) of the generic-calibrated int8 copy of a backbone network."""
    size = int(model.input_shape[1])
    content = convert_int8(model, generic_images(size))
    return content, generic_images(size, CHECK_IMAGES, CHECK_SEED)
