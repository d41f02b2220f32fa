import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE_MODULES = sorted(
    "classifier" if p.stem == "__init__" else f"classifier.{p.stem}"
    for p in (ROOT / "classifier").glob("*.py")
)
HEAVY = {"PySide6", "shiboken6", "tensorflow", "keras", "torch"}


def _modules_after(import_line: str) -> set[str]:
    code = f"import sys; {import_line}; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_every_core_module_imports_without_qt_or_tensorflow():
    assert len(CORE_MODULES) > 25  # the glob found the package
    loaded = _modules_after("import " + ", ".join(CORE_MODULES))
    assert set(CORE_MODULES) <= loaded
    heavy = {m for m in loaded if m.split(".")[0] in HEAVY}
    assert heavy == set()


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_module_imports_qt_even_inside_a_function():
    offenders = {
        p.name: roots & {"PySide6", "shiboken6", "pyqtgraph", "ui"}
        for p in (ROOT / "classifier").glob("*.py")
        if (roots := _imported_roots(p)) & {"PySide6", "shiboken6", "pyqtgraph", "ui"}
    }
    assert offenders == {}
