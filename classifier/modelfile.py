"""The Sortscope model file: one file holding everything needed to classify later, offline.

A model file is a zip archive with three members:
- `sortscope.json`: format name, schema version, class names in order, backbone, input size and
  the metadata of the run (training options, dataset summary, test metrics, creation time), read
  into a checked `ModelInfo` (classifier/model_info.py);
- `model.keras`: the inference model in Keras' own format: 0..255 RGB pixels in, class
  probabilities out, with the backbone (preprocessing included) and the head as nested models.
- `head.npz`: the head's Dense weights once more, so images whose features are cached can be
  classified with NumPy alone (its activations are listed in sortscope.json under "head").

Loading never executes code from the file: no pickle, and Keras' safe_mode refuses lambdas.
Every value is checked before use, and no member may inflate far beyond its compressed size.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

from classifier import leftovers
from classifier.atomic import atomic_path, atomic_write
from classifier.backbones import Availability, Backbone, get_backbone
from classifier.bounded_zip import check_inner_archive, read_member
from classifier.checked_json import Invalid
from classifier.errors import SortscopeError
from classifier.model_checks import HEAD_LAYER, check_head, check_layer_names, check_network
from classifier.model_info import (
    FORMAT,
    SCHEMA_VERSION,
    BackboneInfo,
    InputInfo,
    ModelInfo,
    NewerFormat,
    ReservedClassName,
    RunSummary,
)
from classifier.names import RESERVED_LABELS
from classifier.novelty import NoveltyModel, novelty_from_npz
from classifier.preprocessing import Preprocessing

META_NAME = "sortscope.json"
KERAS_NAME = "model.keras"
HEAD_NAME = "head.npz"  # the head's weights again, for classifying cached images without Keras
NOVELTY_NAME = "novelty.npz"  # classifier/novelty.py's description of the training features
# The most bytes a member may inflate to (see bounded_zip for the bound relative to its size).
MEMBER_LIMITS = {
    META_NAME: 16 << 20,
    HEAD_NAME: 1 << 30,
    KERAS_NAME: 4 << 30,
    NOVELTY_NAME: 256 << 20,
}


class ModelFileError(SortscopeError):
    """A model file is missing, damaged, foreign or too new."""


class SortscopeModel:
    """A trained classifier: the Keras inference model and its typed description (`info`).

    The head also exists as plain NumPy arrays, so images whose features are cached are
    classified without TensorFlow at all; a model loaded lazily builds its Keras network only
    when an image actually has to go through the backbone.
    """

    def __init__(self, model, info: ModelInfo, head_layers=None, loader=None, novelty=None):
        self._model = model  # keras.Model: image -> probabilities, or None until loaded
        self._loader = loader
        self._lock = threading.Lock()
        self.info = info
        if head_layers is None:
            head_layers = dense_layers(model.get_layer(HEAD_LAYER))
        self.head_layers: list[tuple[np.ndarray, np.ndarray, str]] = head_layers
        self.novelty: NoveltyModel | None = novelty  # None: the file has no description

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    @property
    def metadata(self):
        """sortscope.json as a read-only mapping, for code not yet reading `info`."""
        return self.info.as_mapping()

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
        return self.model.get_layer(self.info.backbone.layer)

    def predict_head(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for feature vectors, in NumPy (dropout is off at inference).

        In float64: float32 matrix products give results that depend on how many rows go in
        at once (BLAS picks other kernels), enough to change a CSV's sixth digit between a
        local run and a Dask or resumed one that cuts the files into other chunks."""
        x = np.asarray(features, dtype=np.float64)
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
        return self.info.preprocessing

    @property
    def backbone(self) -> Backbone:
        """The backbone as the feature cache knows it, built from this file's own network."""
        info = self.info.backbone
        try:
            known = get_backbone(info.name)
        except SortscopeError:
            known = None
        return Backbone(
            name=info.name,
            title=known.title if known else info.name,
            input_size=info.input_size,
            feature_dim=info.feature_dim,
            version=info.version,
            description="",
            builder=lambda: self.feature_model,
            availability=lambda: Availability(True),
            listed=False,
            engine=info.engine,
            decode=self.info.input.decode,
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
    run: RunSummary,
    prep: Preprocessing | None = None,
    novelty: NoveltyModel | None = None,
) -> SortscopeModel:
    """Join a backbone and a trained head into one inference model with its description."""
    from classifier.tf_runtime import keras

    k = keras()
    inputs = k.Input((backbone.input_size, backbone.input_size, 3), name="image")
    outputs = head(feature_model(inputs))
    model = k.Model(inputs, outputs, name="sortscope_classifier")
    info = ModelInfo(
        class_names=tuple(class_names),
        backbone=BackboneInfo(
            name=backbone.name,
            version=backbone.version,
            input_size=backbone.input_size,
            feature_dim=backbone.feature_dim,
            layer=feature_model.name,
            engine=backbone.engine,
        ),
        input=InputInfo(
            size=backbone.input_size,
            preprocessing=prep or Preprocessing(),
            decode=backbone.decode,
        ),
        head_activations=tuple(a for _, _, a in dense_layers(head)),
        run=run,
        novelty=novelty.info if novelty is not None else None,
    )
    return SortscopeModel(model, info, novelty=novelty)


def save_model(model: SortscopeModel, path: str | Path) -> Path:
    """Write the model file atomically: readers see the old file or the complete new one."""
    path = Path(path)
    leftovers.sweep_beside(path)  # what a save killed earlier left behind
    leftovers.sweep_temporary_folders()
    with leftovers.temporary_folder("save") as tmp:
        keras_file = Path(tmp) / KERAS_NAME
        model.model.save(keras_file)
        # Deflated, not stored: the members are zips themselves, and a stored inner zip's
        # directory would make a truncated model file look like a different, intact archive.
        with (
            atomic_write(path) as f,
            zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        ):
            archive.writestr(META_NAME, json.dumps(model.info.to_json(), indent=2))
            archive.writestr(HEAD_NAME, _head_npz(model.head_layers))
            if model.novelty is not None and model.info.novelty is not None:
                archive.writestr(NOVELTY_NAME, model.novelty.to_npz())
            archive.write(keras_file, KERAS_NAME)
    return path


def read_info(path: str | Path) -> ModelInfo:
    """The description inside a model file, checked, without loading the network."""
    path = Path(path)
    with _open_archive(path) as archive:
        return _checked_info(path, archive)


def read_metadata(path: str | Path) -> dict:
    """read_info as the plain dict sortscope.json holds."""
    return read_info(path).to_json()


def load_model(path: str | Path, lazy: bool = False) -> SortscopeModel:
    """Load a model file, turning every failure into a ModelFileError a user can act on.

    With `lazy`, the Keras network is built only when first needed (TensorFlow is not even
    imported when every image's features are cached).
    """
    path = Path(path)
    leftovers.sweep_temporary_folders()
    with _open_archive(path) as archive:
        info = _checked_info(path, archive)
        try:
            keras_bytes = _read(archive, KERAS_NAME)
            check_layer_names(keras_bytes, info)
            head_layers = _read_head(archive, info)
            if head_layers is not None:
                check_head(head_layers, info)
            novelty = _read_novelty(archive, info)
        except Invalid as exc:
            raise _damaged(path, str(exc)) from exc
        except (KeyError, zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
            raise _damaged(path) from exc
        except RecursionError as exc:  # a config.json nested too deeply to read
            raise _damaged(path, f"{KERAS_NAME} is nested too deeply") from exc

    def load_keras():
        from classifier.tf_runtime import keras

        with leftovers.temporary_folder("load") as tmp:
            keras_file = Path(tmp) / KERAS_NAME
            keras_file.write_bytes(keras_bytes)
            try:
                model = keras().saving.load_model(keras_file, compile=False, safe_mode=True)
                check_network(model, info)
            except Invalid as exc:
                raise _damaged(path, str(exc)) from exc
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise _damaged(path) from exc
            except RecursionError as exc:
                raise _damaged(path, f"{KERAS_NAME} is nested too deeply") from exc
        return model

    if lazy and head_layers is not None:
        return SortscopeModel(None, info, head_layers, loader=load_keras, novelty=novelty)
    model = load_keras()
    layers = dense_layers(model.get_layer(HEAD_LAYER))
    try:
        check_head(layers, info)
    except Invalid as exc:
        raise _damaged(path, str(exc)) from exc
    return SortscopeModel(model, info, layers, novelty=novelty)


def _read_novelty(archive: zipfile.ZipFile, info: ModelInfo) -> NoveltyModel | None:
    if info.novelty is None:
        return None
    if NOVELTY_NAME not in archive.namelist():
        raise Invalid(f"{NOVELTY_NAME} is missing")
    return novelty_from_npz(_read(archive, NOVELTY_NAME), info.novelty, info.backbone.feature_dim)


def _head_npz(layers) -> bytes:
    buffer = io.BytesIO()
    arrays = {}
    for i, (kernel, bias, _) in enumerate(layers):
        arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _read_head(archive: zipfile.ZipFile, info: ModelInfo):
    """The head as NumPy layers, or None for files written without them."""
    activations = info.head_activations
    if HEAD_NAME not in archive.namelist() or activations is None:
        return None
    data = _read(archive, HEAD_NAME)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return [
            (npz[f"kernel_{i}"], npz[f"bias_{i}"], activation)
            for i, activation in enumerate(activations)
        ]


def _read(archive: zipfile.ZipFile, name: str) -> bytearray:
    data = read_member(archive, name, MEMBER_LIMITS[name])
    if name != META_NAME:
        check_inner_archive(data, name, MEMBER_LIMITS[name])  # model.keras and head.npz
    return data


def _checked_info(path: Path, archive: zipfile.ZipFile) -> ModelInfo:
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
        metadata = json.loads(_read(archive, META_NAME).decode("utf-8"))
    except Invalid as exc:
        raise _damaged(path, str(exc)) from exc
    except RecursionError as exc:
        raise _damaged(path, f"{META_NAME} is nested too deeply") from exc
    except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError, ValueError, OSError) as exc:
        raise _damaged(path) from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not a Sortscope model file.", "Choose a file saved by Sortscope."
        )
    try:
        info = ModelInfo.from_json(metadata)
    except NewerFormat as exc:
        raise ModelFileError(
            f"{path} was made by a newer version of Sortscope (model format {exc.version}; "
            f"this version reads up to {SCHEMA_VERSION}).",
            "Update Sortscope to use this model.",
        ) from exc
    except ReservedClassName as exc:
        raise ModelFileError(
            f"The model file {path} has a class named '{exc.name}', the label Sortscope gives "
            f"its own results ({', '.join(RESERVED_LABELS)}): the two would be mixed.",
            f"Rename that class's folder in the dataset (e.g. to '{exc.name} class') and train "
            "the model again.",
        ) from exc
    except Invalid as exc:
        raise _damaged(path, str(exc)) from exc
    except RecursionError as exc:
        raise _damaged(path, f"{META_NAME} is nested too deeply") from exc
    if KERAS_NAME not in names:
        raise _damaged(path, f"{KERAS_NAME} is missing")
    return info


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


def _damaged(path: Path, reason: str = "") -> ModelFileError:
    what = f"is damaged: {reason}." if reason else "is damaged or incomplete."
    return ModelFileError(
        f"The model file {path} {what}",
        "If it was copied or downloaded, copy it again; otherwise train and save the model again.",
    )
