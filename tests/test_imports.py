import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(import_line: str) -> set[str]:
    code = f"import sys; {import_line}; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_core_imports_without_qt_or_tensorflow():
    loaded = _modules_after(
        "import classifier, classifier.scan, classifier.images, classifier.split, "
        "classifier.backbones, classifier.features, classifier.feature_cache, classifier.cli"
    )
    assert "classifier.scan" in loaded
    heavy = {m for m in loaded if m.split(".")[0] in {"PySide6", "tensorflow", "keras", "torch"}}
    assert heavy == set()
