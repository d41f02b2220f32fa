"""Where one image's decoding time goes, step by step, on one thread (no network).

    .venv/bin/python bench/bench_decode_steps.py [--images 200] [--size 1024x768]

For fresh JPEGs like bench_speed.py's: reading the file, hashing it, parsing the header, the
DCT draft decode (Sortscope's "draft" rule for existing models, "draft75" for Speed: fast), EXIF
transpose, the bilinear resize to 224x224 and the array conversion; then the whole
`images.decode_for_model` under each rule. Milliseconds per image, the best of 3 passes.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_features import make_jpegs  # noqa: E402
from workdir import work_folder  # noqa: E402


def best_ms(step, items, passes: int = 3) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for item in items:
            step(item)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(items)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", default="1024x768")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    from classifier import images
    from classifier.preprocessing import DECODES

    folder = work_folder("sortscope-bench-decode-steps-") / "jpegs"
    paths = make_jpegs(folder, args.images, (width, height), 3)
    datas = [images.read_file(p) for p in paths]
    print(f"{args.images} JPEGs of {width}x{height}, {np.mean([len(d) for d in datas]) / 1e3:.0f} "
          "kB on average; ms per image, one thread")  # fmt: skip
    print("| step | draft | draft75 |")
    print("|---|---|---|")
    rows: dict[str, list[float]] = {}

    def opened(data, hint):
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", hint)
        return image

    for rule, fraction in DECODES.items():
        side = int(np.ceil(224 * fraction))
        hint = (side, side)
        loaded = [opened(d, hint) for d in datas]
        for image in loaded:
            image.load()
        bilinear = Image.Resampling.BILINEAR
        resized = [i.resize((224, 224), bilinear, reducing_gap=3.0) for i in loaded]
        steps = {
            "read the file": (images.read_file, paths),
            "hash (blake2b)": (images.content_digest, datas),
            "parse the header": (lambda d: Image.open(io.BytesIO(d)), datas),
            "DCT draft decode": (lambda d, h=hint: opened(d, h).load(), datas),
            "EXIF transpose, copy (before)": (ImageOps.exif_transpose, loaded),
            "EXIF transpose, in place (now)": (
                lambda i: ImageOps.exif_transpose(i, in_place=True),
                loaded,
            ),
            "bilinear resize to 224x224": (
                lambda i: i.resize((224, 224), Image.Resampling.BILINEAR, reducing_gap=3.0),
                loaded,
            ),
            "to a uint8 array": (lambda i: np.asarray(i, dtype=np.uint8), resized),
            "decode_for_model, whole": (
                lambda d, r=rule: images.decode_for_model(d, 224, decode=r),
                datas,
            ),
        }
        for name, (step, items) in steps.items():
            rows.setdefault(name, []).append(best_ms(step, items))
        rows.setdefault("decoded size", []).append(loaded[0].size)
    for name, (draft, draft75) in rows.items():
        if name == "decoded size":
            print(f"| {name} | {draft[0]}x{draft[1]} | {draft75[0]}x{draft75[1]} |")
        else:
            print(f"| {name} | {draft:.2f} | {draft75:.2f} |")


if __name__ == "__main__":
    main()
