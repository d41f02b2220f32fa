"""Decode throughput per format: JPEG next to 16-bit PNG and FITS (plain, gzip'd, RICE).

    .venv/bin/python bench/bench_decode.py [--count 40] [--size 2048]

Measures the loader's whole path to a 224x224 model input (read is excluded: bytes are in
memory), one thread and a pool of one thread per core, for each format and stretch. The frames
are synthetic star fields (noise, stars, a smooth glow), so compression ratios are realistic.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def star_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """uint16 counts: sky noise, a glow and a few hundred stars."""
    yy, xx = np.mgrid[0:size, 0:size]
    frame = rng.normal(1000.0, 15.0, (size, size))
    frame += 3000.0 * np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (size / 6) ** 2)
    for x, y, flux in zip(*rng.integers(0, size, (2, 300)), rng.lognormal(8, 1, 300), strict=True):
        x0, x1, y0, y1 = max(0, x - 4), min(size, x + 5), max(0, y - 4), min(size, y + 5)
        gx, gy = np.meshgrid(np.arange(x0, x1) - x, np.arange(y0, y1) - y)
        frame[y0:y1, x0:x1] += flux * np.exp(-(gx**2 + gy**2) / 3.0)
    return np.clip(frame, 0, 65535).astype(np.uint16)


def encode(frames: list[np.ndarray]) -> dict[str, list[bytes]]:
    from astropy.io import fits

    def fits_bytes(hdus) -> bytes:
        buffer = io.BytesIO()
        fits.HDUList(hdus).writeto(buffer)
        return buffer.getvalue()

    out: dict[str, list[bytes]] = {k: [] for k in ("jpeg8", "png16", "fits16", "fits32f")}
    out.update({"fits16.gz": [], "fits16.fz": []})
    for frame in frames:
        eight = (frame >> 8).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(eight).convert("RGB").save(buffer, "JPEG", quality=90)
        out["jpeg8"].append(buffer.getvalue())
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "PNG")
        out["png16"].append(buffer.getvalue())
        plain = fits_bytes([fits.PrimaryHDU(frame)])
        out["fits16"].append(plain)
        out["fits32f"].append(fits_bytes([fits.PrimaryHDU(frame.astype(np.float32))]))
        out["fits16.gz"].append(gzip.compress(plain, 6))
        out["fits16.fz"].append(fits_bytes([fits.PrimaryHDU(), fits.CompImageHDU(frame)]))
    return out


def measure(blobs: list[bytes], prep, workers: int) -> float:
    from classifier import images

    def one(data: bytes) -> None:
        images.decode_for_model(data, 224, prep=prep)

    one(blobs[0])  # warm-up: imports, astropy's first open
    start = time.perf_counter()
    if workers == 1:
        for data in blobs:
            one(data)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, blobs))
    return len(blobs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=40, help="frames per format")
    parser.add_argument("--size", type=int, default=2048, help="frame side in pixels")
    args = parser.parse_args()
    from classifier.preprocessing import Preprocessing

    rng = np.random.default_rng(0)
    print(f"Drawing {args.count} {args.size}x{args.size} frames…", flush=True)
    blobs = encode([star_field(rng, args.size) for _ in range(args.count)])
    cores = os.cpu_count() or 2
    print(f"\n| format | MB/file | stretch | 1 thread img/s | {cores} threads img/s |")
    print("|---|---|---|---|---|")
    for name, data in blobs.items():
        stretches = ["auto"] if name == "jpeg8" else ["auto", "percentile", "zscale"]
        if name != "fits16":
            stretches = stretches[:1]
        for stretch in stretches:
            prep = Preprocessing(stretch)
            one = measure(data, prep, 1)
            many = measure(data, prep, cores)
            size = np.mean([len(d) for d in data]) / 1e6
            shown = "(none: 8-bit)" if name == "jpeg8" else stretch
            print(f"| {name} | {size:.1f} | {shown} | {one:.1f} | {many:.1f} |", flush=True)


if __name__ == "__main__":
    main()
