"""The Sortscope model file: one file holding everything needed to classify later, offline.

A model file is a zip archive with three members:
- `sortscope.json`: format name, schema version, class names in order, backbone, input size and
  the metadata of the run (training options, dataset summary, test metrics, creation time);
- `model.keras`: the inference model in Keras' own format: 0..255 RGB pixels in, class
  probabilities out, with the backbone (preprocessing included) and the head as nested models.
- `head.npz`: the head's Dense weights once more, so images whose features are cached can be
  classified with NumPy alone (its activations are listed in sortscope.json under "head").

Loading never executes code from the file: no pickle, and Keras' safe_mode refuses lambdas.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

from classifier import __version__
from classifier.atomic import atomic_path, atomic_write
from classifier.backbones import Availability, Backbone, get_backbone
from classifier.errors import SortscopeError
from classifier.preprocessing import Preprocessing

FORMAT = "sortscope-model"
SCHEMA_VERSION = 2  # 2: input.preprocessing (the stretch); files of version 1 read fine
META_NAME = "sortscope.json"
KERAS_NAME = "model.keras"
HEAD_NAME = "head.npz"  # the head's weights again, for classifying cached images without Keras
HEAD_LAYER = "head"


class ModelFileError(SortscopeError):
    """A model file is missing, damaged, foreign or too new."""


class SortscopeModel:
    """A trained classifier: the Keras inference model, class names and description.

    The head also exists as plain NumPy arrays, so images whose features are cached are
    classified without TensorFlow at all; a model loaded lazily builds its Keras network only
    when an image actually has to go through the backbone.
    """

    def __init__(self, model, class_names, metadata: dict, head_layers=None, loader=None):
        self._model = model  # keras.Model: image -> probabilities, or None until loaded
        self._loader = loader
        self._lock = threading.Lock()
        self.class_names = tuple(class_names)
        self.metadata = metadata  # everything in sortscope.json
        if head_layers is None:
            head_layers = dense_layers(model.get_layer(HEAD_LAYER))
        self.head_layers: list[tuple[np.ndarray, np.ndarray, str]] = head_layers

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._loader()
        return self._model

    @property
    def head(self):
        return self.model.get_layer(HEAD_LAYER)

    @property
    def feature_model(self):
        return self.model.get_layer(self.metadata["backbone"]["layer"])

    def predict_head(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for feature vectors, in NumPy (dropout is off at inference)."""
        x = np.asarray(features, dtype=np.float32)
        for kernel, bias, activation in self.head_layers:
            x = x @ kernel + bias
            if activation == "relu":
                x = np.maximum(x, 0.0)
            elif activation == "softmax":
                x = np.exp(x - x.max(axis=1, keepdims=True))
                x /= x.sum(axis=1, keepdims=True)
        return x

    @property
    def preprocessing(self) -> Preprocessing:
        """How images must be prepared for this model: exactly as they were for training."""
        stored = self.metadata.get("input", {}).get("preprocessing")
        # Version 1 files predate stretches; they mapped 16-bit data by its full range.
        return Preprocessing.from_json(stored) if stored else Preprocessing(stretch="linear")

    @property
    def backbone(self) -> Backbone:
        """The backbone as the feature cache knows it, built from this file's own network."""
        info = self.metadata["backbone"]
        try:
            known = get_backbone(info["name"])
        except SortscopeError:
            known = None
        return Backbone(
            name=info["name"],
            title=known.title if known else info["name"],
            input_size=info["input_size"],
            feature_dim=info["feature_dim"],
            version=info["version"],
            description="",
            builder=lambda: self.feature_model,
            availability=lambda: Availability(True),
            listed=False,
        )


def dense_layers(head) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(kernel, bias, activation) of each Dense layer of a Keras head, in order."""
    layers = []
    for layer in head.layers:
        if type(layer).__name__ == "Dense":
            kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
            layers.append((kernel, bias, layer.activation.__name__))
    return layers


def compose(
    backbone: Backbone,
    feature_model,
    head,
    class_names,
    run_metadata: dict,
    prep: Preprocessing | None = None,
):
    """Join a backbone and a trained head into one inference model with its description."""
    from classifier.tf_runtime import keras

    k = keras()
    inputs = k.Input((backbone.input_size, backbone.input_size, 3), name="image")
    outputs = head(feature_model(inputs))
    model = k.Model(inputs, outputs, name="sortscope_classifier")
    metadata = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "app_version": __version__,
        "class_names": list(class_names),
        "backbone": {
            "name": backbone.name,
            "version": backbone.version,
            "input_size": backbone.input_size,
            "feature_dim": backbone.feature_dim,
            "layer": feature_model.name,
        },
        "input": {
            "size": backbone.input_size,
            "pixels": "RGB 0..255",
            "resize": "bilinear",
            "preprocessing": (prep or Preprocessing()).to_json(),
        },
        "head": {"activations": [a for _, _, a in dense_layers(head)]},
        **run_metadata,
    }
    return SortscopeModel(model, tuple(class_names), metadata)


def save_model(model: SortscopeModel, path: str | Path) -> Path:
    """Write the model file atomically: readers see the old file or the complete new one."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="sortscope-save-") as tmp:
        keras_file = Path(tmp) / KERAS_NAME
        model.model.save(keras_file)
        # Deflated, not stored: the members are zips themselves, and a stored inner zip's
        # directory would make a truncated model file look like a different, intact archive.
        with (
            atomic_write(path) as f,
            zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        ):
            archive.writestr(META_NAME, json.dumps(model.metadata, indent=2))
            archive.writestr(HEAD_NAME, _head_npz(model.head_layers))
            archive.write(keras_file, KERAS_NAME)
    return path


def read_metadata(path: str | Path) -> dict:
    """The description inside a model file, checked, without loading the network."""
    path = Path(path)
    with _open_archive(path) as archive:
        return _checked_metadata(path, archive)


def load_model(path: str | Path, lazy: bool = False) -> SortscopeModel:
    """Load a model file, turning every failure into a ModelFileError a user can act on.

    With `lazy`, the Keras network is built only when first needed (TensorFlow is not even
    imported when every image's features are cached).
    """
    path = Path(path)
    with _open_archive(path) as archive:
        metadata = _checked_metadata(path, archive)
        try:
            keras_bytes = archive.read(KERAS_NAME)
            head_layers = _read_head(archive, metadata)
        except (KeyError, zipfile.BadZipFile, zlib.error, OSError, ValueError) as exc:
            raise _damaged(path) from exc
    class_names = tuple(metadata["class_names"])

    def load_keras():
        from classifier.tf_runtime import keras

        with tempfile.TemporaryDirectory(prefix="sortscope-load-") as tmp:
            keras_file = Path(tmp) / KERAS_NAME
            keras_file.write_bytes(keras_bytes)
            try:
                model = keras().saving.load_model(keras_file, compile=False, safe_mode=True)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                raise _damaged(path) from exc
        if model.output_shape[-1] != len(class_names):
            raise _damaged(path)
        return model

    if lazy and head_layers is not None:
        return SortscopeModel(None, class_names, metadata, head_layers, loader=load_keras)
    return SortscopeModel(load_keras(), class_names, metadata)


def _head_npz(layers) -> bytes:
    buffer = io.BytesIO()
    arrays = {}
    for i, (kernel, bias, _) in enumerate(layers):
        arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _read_head(archive: zipfile.ZipFile, metadata: dict):
    """The head as NumPy layers, or None for files written without them."""
    activations = metadata.get("head", {}).get("activations")
    if HEAD_NAME not in archive.namelist() or activations is None:
        return None
    with np.load(io.BytesIO(archive.read(HEAD_NAME)), allow_pickle=False) as npz:
        return [
            (npz[f"kernel_{i}"], npz[f"bias_{i}"], str(activation))
            for i, activation in enumerate(activations)
        ]


def export_keras(model: SortscopeModel, path: str | Path) -> tuple[Path, Path]:
    """A plain .keras model plus labels.txt beside it (one class per line, retrain.py style)."""
    path = Path(path)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    with atomic_path(path, suffix=".keras") as tmp:
        model.model.save(tmp)
    labels = path.parent / "labels.txt"
    with atomic_write(labels, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(f"{name}\n" for name in model.class_names))
    return path, labels


def _open_archive(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise ModelFileError(
            f"The model file {path} does not exist.",
            "Check the path, or train and save a model first.",
        )
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file.", "Choose the model file.")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{path} is not a Sortscope model file, or it is damaged or incomplete.",
            "Choose a file saved by Sortscope; if it was copied, copy it again.",
        ) from exc
    except OSError as exc:
        raise ModelFileError(
            f"The model file {path} could not be read ({exc.strerror}).",
            "Check that you have permission to read it.",
        ) from exc


def _checked_metadata(path: Path, archive: zipfile.ZipFile) -> dict:
    names = set(archive.namelist())
    if META_NAME not in names:
        if "config.json" in names:
            raise ModelFileError(
                f"{path} is a plain Keras model, not a Sortscope model file.",
                "Sortscope needs the files it saves itself (they carry the class names and "
                "preprocessing); train a model in Sortscope or use the file it saved.",
            )
        raise ModelFileError(
            f"{path} is not a Sortscope model file.", "Choose a file saved by Sortscope."
        )
    try:
        metadata = json.loads(archive.read(META_NAME).decode("utf-8"))
    except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError, ValueError, OSError) as exc:
        raise _damaged(path) from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not a Sortscope model file.", "Choose a file saved by Sortscope."
        )
    version = metadata.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ModelFileError(
            f"{path} was made by a newer version of Sortscope (model format {version}; this "
            f"version reads up to {SCHEMA_VERSION}).",
            "Update Sortscope to use this model.",
        )
    if KERAS_NAME not in names:
        raise _damaged(path)
    return metadata


def _damaged(path: Path) -> ModelFileError:
    return ModelFileError(
        f"The model file {path} is damaged or incomplete.",
        "If it was copied or downloaded, copy it again; otherwise train and save the model again.",
    )
