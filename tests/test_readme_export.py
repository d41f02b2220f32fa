"""The README's standalone TFLite example runs and agrees with `sortscope classify`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from datasets import make_dataset, noisy_image, read_csv
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    blocks = re.findall(
        r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S
    )
    [example] = [b for b in blocks if "ai_edge_litert" in b]
    assert "classifier" not in example  # no Sortscope import
    return example


def sortscope(*args) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_readme_example_gives_the_probabilities_of_sortscope_classify(tmp_path):
    data = make_dataset(tmp_path / "data", per_class=12)
    model = tmp_path / "colours.sortscope"
    sortscope(
        "train",
        data,
        "--model",
        model,
        "--backbone",
        "tiny_test",
        "--epochs",
        "5",
        "--learning-rate",
        "0.01",
        "--quiet",
    )
    sortscope("export", model, tmp_path / "export" / "colours.tflite")

    # Images that take each path of the preparation: a large JPEG (draft), a transparent PNG,
    # a grey image, an image already at the input size.
    rng = np.random.default_rng(5)
    night = tmp_path / "night"
    night.mkdir()
    noisy_image(rng, (200, 40, 40), size=(300, 200)).save(night / "big.jpg", quality=90)
    rgba = np.dstack([np.asarray(noisy_image(rng, (40, 190, 60))), rng.integers(0, 255, (40, 48))])
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(night / "clear.png")
    noisy_image(rng, (90, 90, 90)).convert("L").save(night / "grey.png")
    noisy_image(rng, (40, 60, 210), size=(32, 32)).save(night / "exact.png")
    csv_path = tmp_path / "results.csv"
    sortscope("classify", night, "--model", model, "--csv", csv_path, "--threshold", "0", "--quiet")
    header, *rows = read_csv(csv_path)
    classes = [h.removeprefix("prob_") for h in header if h.startswith("prob_")]

    script = tmp_path / "classify_one.py"
    script.write_text(readme_example(), encoding="utf-8")
    for row in rows:
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "export"), str(night / row[0])],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        printed = dict(line.split("  ", 1)[::-1] for line in done.stdout.splitlines())
        got = [float(printed[c]) for c in classes]
        want = [float(v) for v in row[3 : 3 + len(classes)]]
        np.testing.assert_allclose(got, want, atol=1e-4, err_msg=row[0])
        assert done.stdout.splitlines()[0].split("  ", 1)[1] == row[1]
