"""What Help ▸ About reports: versions, the inference engine in use and why, the folders.

Versions come from the installed packages' metadata, so nothing here imports TensorFlow (which
takes seconds); Qt's own runtime version is added by the window, which has Qt loaded anyway.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from classifier import __version__, engine, paths

# Shown name -> the distributions that provide it, first installed one wins.
COMPONENTS = (
    ("TensorFlow", ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel")),
    ("Keras", ("keras",)),
    ("LiteRT", ("ai-edge-litert",)),
    ("PySide6", ("pyside6", "pyside6-essentials")),
    ("pyqtgraph", ("pyqtgraph",)),
    ("NumPy", ("numpy",)),
    ("Pillow", ("pillow",)),
    ("astropy", ("astropy",)),
)
NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class Folder:
    title: str
    path: Path
    purpose: str


def installed_version(distributions: tuple[str, ...]) -> str:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return NOT_INSTALLED


def versions() -> list[tuple[str, str]]:
    """(component, version) for Sortscope, Python and every library that matters."""
    rows = [("Sortscope", __version__), ("Python", platform.python_version())]
    rows += [(title, installed_version(names)) for title, names in COMPONENTS]
    return rows


def engine_text() -> str:
    """The inference engine in use and why, in a sentence (no network is loaded to find out)."""
    forced = os.environ.get("SORTSCOPE_ENGINE", "auto").lower()
    in_use = engine.engines_in_use()
    interpreter = (
        "LiteRT interpreter"
        if installed_version(("ai-edge-litert",)) != NOT_INSTALLED
        else "TensorFlow's interpreter"
    )
    if in_use:
        parts = []
        for backbone, name, reason in in_use:
            if name == "tflite":
                parts.append(f"{backbone}: TFLite/XNNPACK ({interpreter})")
            elif name == "tflite-int8":
                parts.append(f"{backbone}: TFLite/XNNPACK int8, Speed: fast ({interpreter})")
            elif reason:
                parts.append(
                    f"{backbone}: Keras, because the fast engine could not be used: {reason}"
                )
            else:
                parts.append(f"{backbone}: Keras (SORTSCOPE_ENGINE={forced})")
        return "; ".join(parts)
    if forced == "keras":
        return "Keras, because SORTSCOPE_ENGINE=keras is set. No network is loaded yet."
    return (
        f"not started yet in this session. Sortscope runs TFLite/XNNPACK ({interpreter}) when "
        "the network converts and matches Keras, else Keras, and says why here."
    )


def folders() -> list[Folder]:
    return [
        Folder(
            "Data folder",
            paths.data_dir(),
            "the example dataset and the run history (your datasets and models stay where "
            "you keep them)",
        ),
        Folder(
            "Cache folder",
            paths.cache_dir(),
            "image features and converted networks; safe to delete, they are computed again",
        ),
    ]
