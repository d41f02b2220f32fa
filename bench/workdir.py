"""A benchmark's temporary folder, removed when the script ends (set SORTSCOPE_BENCH_KEEP=1 to
keep it for a look): thousands of generated images must not pile up in /tmp run after run."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path


def work_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.environ.get("SORTSCOPE_BENCH_KEEP") != "1":
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
