"""Reports are valid, self-contained HTML holding the model file's and the CSV's numbers."""

import json
import os
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from datasets import make_dataset, noisy_image, read_csv

ROOT = Path(__file__).resolve().parents[1]
# Close colours: the tiny network mixes them up now and then, so there are mistakes to show.
CLASSES = {"Dim & <faint>": (110, 110, 120), "bright": (140, 135, 130), "Red": (200, 40, 40)}
VOID = {"meta", "img", "br", "hr", "input", "link"}


class Page(HTMLParser):
    """Checks nesting, collects references, text and <img> tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.references: list[str] = []
        self.images = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
        self.images += tag == "img"
        self.references += [v or "" for k, v in attrs if k in ("src", "href")]

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> tuple[Page, str]:
    source = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(source)
    page.close()
    assert page.stack == [], f"unclosed: {page.stack}"
    for reference in page.references:
        assert reference.startswith("data:"), reference  # nothing fetched, nothing linked
    assert "http" not in " ".join(page.references) and "url(" not in source
    assert "<faint>" not in source and "<script" not in source  # user text is escaped
    return page, " ".join(" ".join(page.text).split())


def sortscope(*args) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    data = make_dataset(root / "data", per_class=20, classes=CLASSES, seed=2)
    model = root / "dim.sortscope"
    sortscope(
        "train",
        data,
        "--model",
        model,
        "--backbone",
        "tiny_test",
        "--epochs",
        "4",
        "--learning-rate",
        "0.01",
        "--test-percent",
        "30",
        "--quiet",
    )
    return root, model, json.loads(sortscope("info", model).stdout)


def test_model_report_holds_the_numbers_of_sortscope_info(trained):
    root, model, info = trained
    out = root / "report.html"
    sortscope("report", model, out)
    page, text = parse(out)
    metrics = info["test_metrics"]
    assert f"Test accuracy {metrics['accuracy']:.1%} on {metrics['n_images']} held-out" in text
    assert f"scores {metrics['baseline_accuracy']:.1%}" in text and "95% interval" in text
    for name, m in metrics["per_class"].items():
        assert f"{name} {m['precision']:.3f} {m['recall']:.3f} {m['f1']:.3f} {m['support']}" in text
    for name, row in zip(metrics["classes"], metrics["confusion_matrix"], strict=True):
        assert f"{name} {' '.join(map(str, row))}" in text
    for name, count in info["dataset"]["classes"].items():
        split = info["dataset"]["splits"][name]
        assert f"{name} {count} {split['train']} {split['validation']} {split['test']}" in text
    assert "Dim & <faint>" in text  # escaped in the source, shown as it is
    assert f"learning_rate {info['training']['learning_rate']}" in text
    assert out.read_text().count("<svg") == 2  # loss, accuracy
    wrong = sum(sum(row) - row[i] for i, row in enumerate(metrics["confusion_matrix"]))
    assert wrong > 0 and page.images == min(wrong, 24)  # a thumbnail per mistake
    assert f"{wrong} of {metrics['n_images']} test images" in text


def test_model_report_says_when_the_images_are_gone(trained, tmp_path):
    root, model, _ = trained
    (root / "data").rename(root / "moved")
    try:
        sortscope("report", model, tmp_path / "r.html")
    finally:
        (root / "moved").rename(root / "data")
    page, text = parse(tmp_path / "r.html")
    assert page.images == 0 and "no longer at" in text and "Test accuracy" in text


def test_classify_report_counts_what_the_csv_holds(trained, tmp_path):
    _, model, info = trained
    rng = np.random.default_rng(4)
    night = tmp_path / "night"
    night.mkdir()
    for i, colour in enumerate([(200, 40, 40)] * 5 + [(125, 122, 125)] * 6):
        noisy_image(rng, colour).save(night / f"frame_{i:02d}.png")
    (night / "<script>bad & worse.png").write_bytes(b"not an image")
    csv_path, out = tmp_path / "r.csv", tmp_path / "summary.html"
    sortscope(
        "classify",
        night,
        "--model",
        model,
        "--csv",
        csv_path,
        "--threshold",
        "0.8",
        "--report",
        out,
        "--quiet",
    )
    _, *rows = read_csv(csv_path)
    counts = Counter(row[1] for row in rows if not row[-1])
    page, text = parse(out)
    for label in [*info["class_names"], "uncertain"]:
        share = f"{counts.get(label, 0) / len(rows):.1%}"
        assert f"{label} {counts.get(label, 0)} {share}" in text
    assert f"(could not be read) 1 {1 / len(rows):.1%}" in text
    assert f"Uncertain (below the threshold): {counts['uncertain']} of {len(rows)}" in text
    assert "Confidence threshold 0.8" in text and "Images 12" in text
    assert f"{info['test_metrics']['accuracy']:.1%} on" in text  # the model card
    assert out.read_text().count("<svg") == 2 and page.images == 0
