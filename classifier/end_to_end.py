"""Training from images, end to end: fine-tuning a backbone's last blocks, or a small CNN.

Images are decoded once into an on-disk array (a NumPy memmap in the cache folder), so every
epoch reads pixels instead of decoding files again, and memory stays flat for any dataset.
Keras reads batches from it through a PyDataset, with augmentation applied on the fly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from classifier import images, paths
from classifier.augment import Augmentation
from classifier.errors import ImageError
from classifier.preprocessing import Preprocessing
from classifier.progress import CancelToken, ProgressCallback, Stage, StageClock
from classifier.types import Problem

SMALL_CNN_SIZE = 64
SMALL_CNN_FILTERS = (32, 64, 128)
_CHUNK = 64
STALE_SECONDS = 24 * 3600
# Layer names that start a block in the networks Sortscope offers (Lite: block7_..., Keras
# EfficientNet: block6a_..., MobileNetV2: block_12_..., V3: expanded_conv_10_..., Inception:
# mixed9...). Layers after the last block (the final 1x1 convolution) form one more block.
_BLOCK = re.compile(r"^(block_?\d+[a-z]?|expanded_conv_\d+|mixed\d+|conv_block\d+)")


@dataclass
class ImageStore:
    """Decoded model inputs of a list of files, backed by a temporary file."""

    pixels: np.ndarray  # (n, size, size, 3) uint8 memmap
    ok: np.ndarray  # (n,) bool: False for files that failed to decode
    problems: list[Problem]
    path: Path

    def close(self) -> None:
        del self.pixels
        self.path.unlink(missing_ok=True)


def decode_images(
    files: list[Path],
    size: int,
    prep: Preprocessing,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_pixels: int = images.DEFAULT_MAX_PIXELS,
) -> ImageStore:
    """Decode every file once into a memmap; failures are reported, never fatal."""
    cancel = cancel or CancelToken()
    folder = paths.cache_dir() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale(folder)
    handle, name = tempfile.mkstemp(prefix="images-", suffix=".u8", dir=folder)
    os.close(handle)
    path = Path(name)
    shape = (max(1, len(files)), size, size, 3)
    pixels = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    ok = np.zeros(len(files), dtype=bool)
    problems: list[Problem] = []
    clock = StageClock(Stage.LOADING_IMAGES, len(files), progress)

    def load(i: int):
        try:
            with images.reading(files[i], max_pixels) as data:
                pixels[i] = images.decode_for_model(data, size, max_pixels, prep)
            return None
        except (ImageError, MemoryError) as exc:
            return Problem.of_file(exc, Path(files[i]))

    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for start in range(0, len(files), _CHUNK):
                cancel.check()
                indices = range(start, min(len(files), start + _CHUNK))
                for i, problem in zip(indices, pool.map(load, indices), strict=True):
                    ok[i] = problem is None
                    if problem is not None:
                        problems.append(problem)
                clock.report(indices[-1] + 1)
    except BaseException:
        del pixels
        path.unlink(missing_ok=True)
        raise
    return ImageStore(pixels, ok, problems, path)


def _remove_stale(folder: Path) -> None:
    """Delete image files left by runs that were killed (a day old: no live run owns them)."""
    cutoff = time.time() - STALE_SECONDS
    for old in folder.glob("images-*.u8"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()


def image_batches(
    store: ImageStore,
    indices: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    *,
    augmentation: Augmentation | None = None,
    shuffle: bool = False,
    seed: int = 0,
):
    """A Keras PyDataset over `store` rows `indices` (with their labels)."""
    from classifier.tf_runtime import keras

    class Batches(keras().utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.order = np.arange(len(indices))
            self.epoch = 0
            self._shuffle()

        def _shuffle(self) -> None:
            if shuffle:
                np.random.default_rng(seed + self.epoch).shuffle(self.order)

        def __len__(self) -> int:
            return max(1, -(-len(indices) // batch_size))

        def __getitem__(self, number: int):
            rows = self.order[number * batch_size : (number + 1) * batch_size]
            x = np.asarray(store.pixels[indices[rows]])
            if augmentation is not None and augmentation.enabled:
                rng = np.random.default_rng([seed, self.epoch, number])
                x = np.stack([_augment(frame, augmentation, rng) for frame in x])
            return x.astype(np.float32), labels[rows]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._shuffle()

    return Batches()


def _augment(frame: np.ndarray, augmentation: Augmentation, rng) -> np.ndarray:
    return np.asarray(augmentation.apply(Image.fromarray(frame), rng), dtype=np.uint8)


def blocks(model) -> list[list]:
    """The network's layers grouped into blocks, in order, nested models flattened.

    Layers named like a block start it (Lite, EfficientNet, MobileNet) or, for Inception's
    `mixedN`, end it; unnamed layers in between (convolutions, activations) belong to the
    block around them. Layers before the first block are the stem (never unfrozen); those
    after the last one form a final block of their own.
    """
    layers = _flatten(model)
    keys = [_block_key(layer.name) for layer in layers]
    named = [i for i, key in enumerate(keys) if key is not None]
    if not named:
        return []
    ends_blocks = keys[named[0]].startswith("mixed")
    first, last = named[0], named[-1]
    filled: list[str] = []
    current = "stem"
    for i, key in enumerate(keys):
        if key is not None:
            current = key
        elif i > last:
            current = "top"
        elif ends_blocks and i > first:
            current = next(keys[j] for j in named if j > i)  # the module this layer feeds
        elif ends_blocks:
            current = keys[first]
        filled.append(current)
    groups: dict[str, list] = {}
    for layer, key in zip(layers, filled, strict=True):
        groups.setdefault(key, []).append(layer)
    # Blocks without weights (a final pooling) cannot learn: "the last N" skips them.
    return [g for key, g in groups.items() if key != "stem" and any(x.weights for x in g)]


def _block_key(name: str) -> str | None:
    match = _BLOCK.match(name)
    if match is None:
        return None
    inner = re.match(r"^mixed(\d+)_(\d+)", name)
    if inner:  # Keras names the inner joins of Inception's modules 9 and 10 mixed9_0, mixed9_1
        return f"mixed{int(inner.group(1)) + int(inner.group(2))}"
    return match.group(1)


def _flatten(model) -> list:
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            out.extend(_flatten(layer))
        else:
            out.append(layer)
    return out


def unfreeze_last_blocks(model, count: int) -> int:
    """Make only the last `count` blocks trainable, BatchNorm kept frozen; returns weights
    made trainable (a number, for the log)."""
    model.trainable = True
    for layer in _flatten(model):
        layer.trainable = False
    trainable = 0
    for group in blocks(model)[-count:] if count > 0 else []:
        for layer in group:
            # Frozen BatchNorm runs in inference mode: small batches cannot upset its statistics.
            if type(layer).__name__ != "BatchNormalization":
                layer.trainable = True
                trainable += sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    return trainable


def clone_network(model):
    """An independent copy (the original, cached per process, must stay untouched)."""
    from classifier.tf_runtime import keras

    copy = keras().models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def weights_digest(model) -> str:
    """Eight hex digits naming these exact weights: part of the feature cache key."""
    digest = hashlib.blake2b(digest_size=4)
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def build_small_cnn(seed: int):
    """Three convolution blocks and global pooling: a from-scratch baseline's feature part."""
    from classifier.tf_runtime import keras

    k = keras()
    k.utils.set_random_seed(seed)
    inputs = k.Input((SMALL_CNN_SIZE, SMALL_CNN_SIZE, 3), name="image")
    x = k.layers.Rescaling(1.0 / 255.0, name="normalise")(inputs)
    for i, filters in enumerate(SMALL_CNN_FILTERS):
        x = k.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        # Momentum 0.9: small datasets give few steps, and inference uses these statistics.
        x = k.layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = k.layers.ReLU(name=f"block{i}_relu")(x)
        x = k.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = k.layers.GlobalAveragePooling2D(name="features")(x)
    return k.Model(inputs, x, name="small_cnn")
