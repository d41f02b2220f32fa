import hashlib

import numpy as np

from classifier.example import CLASSES, PER_CLASS, UNSORTED, draw, ensure_example_dataset
from classifier.scan import scan_dataset


def digest_tree(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_example_is_deterministic_complete_and_marked_synthetic(tmp_path):
    a = ensure_example_dataset(tmp_path / "a")
    b = ensure_example_dataset(tmp_path / "b")
    assert digest_tree(a.root) == digest_tree(b.root)
    assert "SYNTHETIC" in (a.root / "README.txt").read_text()
    scan = scan_dataset(a.training)
    assert scan.classes == tuple(sorted(CLASSES))
    assert set(scan.counts().values()) == {PER_CLASS}
    assert not scan.problems
    assert len(list(a.unsorted.glob("*.png"))) == UNSORTED
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    again = ensure_example_dataset(tmp_path / "a")  # second call: nothing redrawn
    assert digest_tree(again.root) == digest_tree(a.root)


def test_classes_look_different_in_the_ways_astronomers_expect():
    def central_concentration(kind):
        values = []
        for seed in range(5):
            image = np.asarray(draw(kind, seed), dtype=float)[..., 0]
            centre = image[48:80, 48:80].mean()
            values.append(centre / image.mean())
        return np.mean(values)

    # Globular clusters pile their light into the centre; open clusters spread it out.
    assert central_concentration("globular_cluster") > 1.3 * central_concentration("open_cluster")


def test_fits_variant_holds_the_same_frames_in_counts_with_headers(tmp_path):
    from classifier.fits_reader import header_values, read_fits

    example = ensure_example_dataset(tmp_path / "fits", fits=True)
    scan = scan_dataset(example.training)
    assert scan.classes == tuple(sorted(CLASSES)) and not scan.problems
    assert scan.high_range_images == len(scan.images) == PER_CLASS * len(CLASSES)
    frames = sorted(example.unsorted.glob("*.fits"))
    assert len(frames) == UNSORTED
    data = frames[1].read_bytes()
    counts = read_fits(data).data
    assert counts.dtype.kind == "f" and counts.max() > 255  # raw counts, not display values
    assert header_values(data, ["FILTER", "EXPTIME"]) == {"FILTER": "G", "EXPTIME": "30.0"}
    # The FITS frame is the very image the PNG example shows, before its display stretch.
    png = np.asarray(draw(CLASSES[1], 900_001), dtype=float)[..., 0]
    assert np.corrcoef(counts.ravel(), png.ravel())[0, 1] > 0.8
