"""Getting ImageNet weights for the Keras-application backbones: download, or import a file.

Keras downloads these files itself on first use, which fails offline. Sortscope instead asks:
a download with progress and cancel, or a copy the user brings from another computer. Either
way the file is checked by loading it into its network before it is put where Keras keeps it
(atomically), so a wrong or damaged file never makes a backbone look available.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from classifier import leftovers, paths
from classifier.atomic import atomic_path
from classifier.backbones import KERAS_APPS
from classifier.errors import Cancelled, SortscopeError
from classifier.progress import CancelToken, ProgressCallback, Stage, StageClock

_CHUNK = 256 * 1024


def keras_app_names() -> list[str]:
    return list(KERAS_APPS)


def _app(name: str):
    if name not in KERAS_APPS:
        raise SortscopeError(
            f"'{name}' is not a backbone whose weights can be downloaded or imported.",
            f"These can: {', '.join(KERAS_APPS)}.",
        )
    return KERAS_APPS[name]


def target_path(name: str) -> Path:
    """Where Keras (and Sortscope) look for this backbone's weights."""
    return paths.keras_cache_dir() / _app(name)[3].weights_file


def import_weights(name: str, source: str | Path) -> Path:
    """Check that `source` holds `name`'s weights (no top), then install it; returns where."""
    title, size, _, app = _app(name)
    source = Path(source)
    if not source.is_file():
        raise SortscopeError(f"The file {source} does not exist.", "Choose the weights file.")
    from classifier.tf_runtime import keras

    constructor = getattr(keras().applications, app.constructor)
    try:
        constructor(
            include_top=False, weights=str(source), input_shape=(size, size, 3), pooling="avg"
        )
    except Exception as exc:  # h5py, Keras and OS errors of every kind: all mean "wrong file"
        raise SortscopeError(
            f"{source.name} does not hold {title} weights Sortscope can use "
            f"({type(exc).__name__}).",
            f"Use the file {app.weights_file} (ImageNet weights without the top), from {app.url}.",
        ) from exc
    target = target_path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target, suffix=".h5") as tmp:
        shutil.copyfile(source, tmp)
    return target


def download_weights(
    name: str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    url: str | None = None,
) -> Path:
    """Download `name`'s weights with progress (cancellable), check and install them."""
    title, _, _, app = _app(name)
    url = url or app.url
    cancel = cancel or CancelToken()
    with leftovers.temporary_folder("download") as tmp:
        part = Path(tmp) / app.weights_file
        try:
            with urllib.request.urlopen(url, timeout=30) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                clock = StageClock(f"{Stage.DOWNLOADING} {title}", total, progress)
                done = 0
                while chunk := response.read(_CHUNK):
                    if cancel.cancelled:
                        raise Cancelled()
                    out.write(chunk)
                    done += len(chunk)
                    clock.report(done, f"{done / 1e6:.1f} of {total / 1e6:.0f} MB")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise SortscopeError(
                f"The {title} weights could not be downloaded ({reason}).",
                f"Check the internet connection, or download {url} on another computer and "
                "import the file.",
            ) from exc
        return import_weights(name, part)
