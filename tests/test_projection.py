"""The map: every point stands for the right file, and similar images lie together."""

import numpy as np
from datasets import make_dataset

from classifier.backbones import get_backbone
from classifier.projection import map_files, project
from classifier.scan import scan_dataset


def test_map_points_link_to_their_files(tmp_path, shared_cache_dir):
    root = make_dataset(tmp_path / "d", per_class=14)
    (root / "Red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    scan = scan_dataset(root)
    files = [r.path for r in scan.images] + [root / "Red" / "broken.png"]
    labels = [r.class_name for r in scan.images] + ["Red"]
    image_map = map_files(files, labels, get_backbone("tiny_test"), cache_dir=shared_cache_dir)
    assert image_map.projection.method == "t-SNE" and image_map.unreadable == 1
    assert len(image_map.paths) == len(scan.images) == len(image_map.projection.xy)
    for path, label in zip(image_map.paths, image_map.labels, strict=True):
        assert path.parent.name == label  # each point's file is the one its label came from
    # Each point's nearest neighbour on the map shows an image of the same colour.
    xy = image_map.projection.xy
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    np.fill_diagonal(d, np.inf)
    nearest = d.argmin(axis=1)
    same = [image_map.labels[i] == image_map.labels[j] for i, j in enumerate(nearest)]
    assert np.mean(same) > 0.9


def test_large_sets_are_sampled_and_say_so():
    x = np.random.default_rng(0).normal(size=(40, 5))
    projection = project(x, max_points=20)
    assert len(projection.indices) == 20 == len(set(projection.indices.tolist()))
    assert "20 of 40" in projection.note
    assert project(x[:5]).method == "PCA" and project(x).note == ""
