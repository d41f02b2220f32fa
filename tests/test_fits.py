"""FITS reading, stretches, and the stretch travelling with a model (astropy builds the files)."""

import gzip
import io

import numpy as np
import pytest
from astropy.io import fits as afits
from datasets import make_fits_dataset, noisy_image, read_csv, sky_frame, write_fits

from classifier import fits_reader, images
from classifier.errors import ImageError, SortscopeError
from classifier.export import write_csv
from classifier.features import extract_features, open_cache
from classifier.modelfile import load_model, save_model
from classifier.predict import classify_folder
from classifier.preprocessing import Preprocessing, stretch_to_8bit
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import FILE_FAILURES, ProblemKind, Severity, TrainConfig


def _fits_bytes(*hdus) -> bytes:
    buffer = io.BytesIO()
    afits.HDUList(list(hdus)).writeto(buffer)
    return buffer.getvalue()


def _gray(image) -> np.ndarray:
    rgb = np.asarray(image)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    return rgb[..., 0]


def test_uint16_with_bzero_reads_true_values_and_shows_top_row_up():
    values = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    data = _fits_bytes(afits.PrimaryHDU(values))
    assert b"BZERO   =                32768" in data  # stored as scaled signed integers
    frame = fits_reader.read_fits(data)
    # FITS stores the bottom row first; the reader flips it so images look as in DS9.
    assert frame.data.tolist() == [[40000, 65535], [0, 1000]]
    assert frame.bitpix == 16
    linear = _gray(images.decode_rgb(data, prep=Preprocessing("linear")))
    assert linear.tolist() == [[156, 255], [0, 4]]


def test_nan_and_inf_replaced_by_background_before_stretching():
    rng = np.random.default_rng(1)
    sky = rng.normal(100.0, 5.0, (20, 20)).astype(np.float32)
    sky[3, 4], sky[5, 6], sky[7, 8] = np.nan, np.inf, -np.inf
    data = _fits_bytes(afits.PrimaryHDU(sky))
    gray = _gray(images.decode_rgb(data, prep=Preprocessing("linear")))
    flipped = (19 - 3, 19 - 5, 19 - 7), (4, 6, 8)
    # Replaced pixels take the background (median) level: neither black nor white.
    assert all(60 < v < 200 for v in gray[flipped])
    assert gray.min() == 0 and gray.max() == 255  # the valid range still spans 0..255


def test_all_nan_frame_is_a_reported_problem_not_a_black_image(tmp_path):
    write_fits(tmp_path / "a" / "blank.fits", np.full((8, 8), np.nan, dtype=np.float32))
    write_fits(tmp_path / "a" / "good.fits", np.ones((8, 8), dtype=np.float32))
    write_fits(tmp_path / "b" / "good.fits", np.zeros((8, 8), dtype=np.float32))
    scan = scan_dataset(tmp_path)
    [problem] = [p for p in scan.problems if p.kind in FILE_FAILURES]
    assert problem.kind == ProblemKind.NO_DATA and problem.path.name == "blank.fits"
    assert "NaN" in problem.message
    assert {r.path.name for r in scan.images} == {"good.fits"}
    assert {r.format for r in scan.images} == {"FITS"}


def test_empty_primary_then_image_extension_by_default_name_or_index():
    sci = np.arange(12, dtype=np.float32).reshape(3, 4)
    other = np.zeros((5, 5), dtype=np.int16)
    data = _fits_bytes(
        afits.PrimaryHDU(), afits.ImageHDU(sci, name="SCI"), afits.ImageHDU(other, name="DQ")
    )
    assert fits_reader.read_fits(data).hdu_index == 1
    assert fits_reader.read_fits(data, "dq").data.shape == (5, 5)  # names are case-insensitive
    assert fits_reader.read_fits(data, 2).hdu_index == 2
    with pytest.raises(ImageError) as missing:
        fits_reader.read_fits(data, "ERR")
    assert missing.value.kind == "no_data" and "1:SCI" in missing.value.what
    with pytest.raises(ImageError) as not_image:
        fits_reader.read_fits(data, 0)
    assert not_image.value.kind == "no_data"


def test_rice_compressed_and_gzipped_files_decode_like_the_plain_one(tmp_path):
    rng = np.random.default_rng(2)
    frame = (rng.random((40, 50)) * 30000).astype(np.int16)
    plain = write_fits(tmp_path / "plain.fits", frame)
    fz = write_fits(tmp_path / "frame.fits.fz", frame, compressed=True)
    gz = tmp_path / "frame.fits.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert all(images.is_image_name(p.name) for p in (plain, fz, gz))
    expected = np.asarray(images.load_thumbnail(plain, 64))
    for path in (fz, gz):
        assert fits_reader.read_fits(path.read_bytes()).data.tolist() == np.flipud(frame).tolist()
        assert np.array_equal(np.asarray(images.load_thumbnail(path, 64)), expected)


def test_cube_uses_first_plane_and_the_scan_says_so(tmp_path):
    cube = np.stack([np.full((6, 7), v, dtype=np.float32) for v in (1.0, 2.0, 3.0)])
    cube[0, 0, 0] = 5.0
    path = write_fits(tmp_path / "a" / "cube.fits", cube)
    frame = fits_reader.read_fits(path.read_bytes())
    assert frame.data.shape == (6, 7) and frame.data.max() == 5.0 and frame.data.min() == 1.0
    write_fits(tmp_path / "b" / "flat.fits", np.ones((6, 7), dtype=np.float32))
    scan = scan_dataset(tmp_path)
    [note] = [p for p in scan.problems if p.kind == ProblemKind.DATA_CUBE]
    assert note.severity == Severity.INFO and "3 planes" in note.message
    assert len(scan.images) == 2  # the cube is still used


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_plain_gzipped_and_compressed_files_are_reported(tmp_path, cut):
    rng = np.random.default_rng(3)
    frame = (rng.random((60, 60)) * 1000).astype(np.int16)
    data = {
        "plain.fits": _fits_bytes(afits.PrimaryHDU(frame)),
        "rice.fits.fz": _fits_bytes(afits.PrimaryHDU(), afits.CompImageHDU(frame)),
    }
    data["packed.fits.gz"] = gzip.compress(data["plain.fits"])
    for name, content in data.items():
        assert fits_reader.read_fits(content).data.shape == (60, 60)
        (tmp_path / "a").mkdir(exist_ok=True)
        (tmp_path / "a" / name).write_bytes(content[: max(2881, int(len(content) * cut))])
    write_fits(tmp_path / "b" / "ok.fits", frame)
    scan = scan_dataset(tmp_path)
    kinds = {p.path.name: p.kind for p in scan.problems if p.kind in FILE_FAILURES}
    assert kinds == dict.fromkeys(data, ProblemKind.TRUNCATED)


def test_fits_never_reaches_pillow_and_foreign_content_is_reported():
    data = _fits_bytes(afits.PrimaryHDU(np.ones((4, 4), dtype=np.uint8)))
    with pytest.raises(ImageError) as refused:
        images.open_image(data)  # Pillow's own FITS plugin is not allowed to parse it
    assert refused.value.kind == "corrupt"
    assert images.decode_rgb(data).size == (4, 4)  # the loader routes it to astropy
    with pytest.raises(ImageError) as garbage:
        images.verify(b"SIMPLE  = not really a FITS header" * 100)
    assert garbage.value.kind == "corrupt" and "FITS" in garbage.value.what


def test_pixel_limit_and_gzip_bomb_stop_before_decoding():
    big = _fits_bytes(afits.PrimaryHDU(np.zeros((300, 400), dtype=np.float64)))
    with pytest.raises(ImageError) as large:
        fits_reader.read_fits(big, max_pixels=100_000)
    assert large.value.kind == "too_large" and "400x300" in large.value.what
    bomb = gzip.compress(big)  # ~1 MB of zeros packs into a few kB
    with pytest.raises(ImageError) as unpacked:
        fits_reader.read_fits(bomb, max_pixels=1_000)
    assert unpacked.value.kind == "too_large"


def test_stretches_map_data_as_described():
    rng = np.random.default_rng(4)
    sky = rng.normal(1000.0, 10.0, (100, 100)).astype(np.float32)
    sky[50, 50] = 1e6  # one hot pixel
    linear = stretch_to_8bit(sky, Preprocessing("linear"), True)
    percentile = stretch_to_8bit(sky, Preprocessing("percentile"), True)
    asinh = stretch_to_8bit(sky, Preprocessing("asinh"), True)
    zscale = stretch_to_8bit(sky, Preprocessing("zscale"), True)
    assert linear.max() == 255 and np.median(linear) == 0  # the hot pixel squashes the sky
    assert 100 < np.median(percentile) < 155  # the sky spread over the range, hot pixel clipped
    assert np.median(asinh) > np.median(percentile)  # asinh lifts faint levels
    assert 60 < np.median(zscale) < 195 and zscale[50, 50] == 255
    flat = np.full((5, 5), 7.0)
    assert stretch_to_8bit(flat, Preprocessing("percentile"), False).max() == 0
    # auto: asinh for FITS, percentile for 16-bit TIFF/PNG
    assert np.array_equal(stretch_to_8bit(sky, Preprocessing(), True), asinh)
    assert np.array_equal(stretch_to_8bit(sky, Preprocessing(), False), percentile)


def test_preprocessing_validation_and_json_round_trip():
    from classifier.model_info_json import preprocessing_from_json

    with pytest.raises(SortscopeError, match="stretch"):
        Preprocessing("gamma")
    with pytest.raises(SortscopeError, match="percentiles"):
        Preprocessing("percentile", 99.0, 1.0)
    prep = Preprocessing("percentile", 1.0, 99.0, "SCI")
    assert preprocessing_from_json(prep.to_json()) == prep
    assert preprocessing_from_json({}).is_default
    assert fits_reader.parse_keys(" date-obs,FILTER,,filter ") == ["DATE-OBS", "FILTER"]


def test_sixteen_bit_png_uses_the_stretch():
    ramp = np.linspace(0, 60000, 400).reshape(20, 20).astype(np.uint16)
    ramp[0, 0] = 65535
    buffer = io.BytesIO()
    from PIL import Image

    Image.fromarray(ramp).save(buffer, "PNG")
    percentile = _gray(images.decode_rgb(buffer.getvalue()))
    linear = _gray(images.decode_rgb(buffer.getvalue(), prep=Preprocessing("linear")))
    assert not np.array_equal(percentile, linear)
    assert percentile[19, 19] == 255 and linear[19, 19] < 255  # percentile clips the outlier


@pytest.fixture(scope="module")
def fits_model(tmp_path_factory):
    root = make_fits_dataset(tmp_path_factory.mktemp("fits-data"), per_class=16)
    config = TrainConfig(
        backbone="tiny_test", epochs=20, learning_rate=0.02, stretch="percentile",
        stretch_low=2.0, stretch_high=98.0,
    )  # fmt: skip
    outcome = train(scan_dataset(root), config)
    path = tmp_path_factory.mktemp("fits-model") / "frames.sortscope"
    save_model(outcome.model, path)
    return outcome, path


def test_stretch_is_stored_in_the_model_and_applied_when_classifying(fits_model, tmp_path):
    outcome, path = fits_model
    assert outcome.evaluation.accuracy >= 0.9
    model = load_model(path, lazy=True)
    assert model.preprocessing == Preprocessing("percentile", 2.0, 98.0)
    assert model.metadata["training"]["stretch"] == "percentile"
    rng = np.random.default_rng(9)
    night = tmp_path / "night"
    files = [
        write_fits(night / f"{kind}.fits", sky_frame(rng, kind), extension=True)
        for kind in ("left", "top")
    ]
    result = classify_folder(night, model)
    assert [r.label for r in result.rows] == ["left_bright", "top_bright"]
    # The probabilities are exactly what the head gives on features made with the model's
    # stretch, and differ from what an unstretched (full-range) reading would give.
    backbone = model.backbone
    stored = extract_features(files, backbone, prep=model.preprocessing).features
    raw = extract_features(files, backbone, prep=Preprocessing("linear")).features
    got = np.array([r.probabilities for r in result.rows])
    assert np.allclose(got, model.predict_head(stored), atol=1e-6)
    assert not np.allclose(stored, raw, atol=1e-2)
    assert open_cache(backbone, prep=model.preprocessing).folder.name.endswith("--percentile-2-98")


def test_fits_keys_become_extra_csv_columns_after_error(fits_model, tmp_path):
    _, path = fits_model
    model = load_model(path, lazy=True)
    rng = np.random.default_rng(11)
    night = tmp_path / "night"
    header = {"DATE-OBS": "2026-11-21T22:14:03", "FILTER": "=R", "EXPTIME": 30.0}
    write_fits(night / "a.fits", sky_frame(rng, "left"), header, extension=True)
    noisy_image(rng, (10, 10, 10), (48, 64)).save(night / "b.png")
    (night / "c.fits").write_bytes(b"SIMPLE  = broken")
    keys = ["DATE-OBS", "FILTER", "EXPTIME", "OBJECT"]
    result = classify_folder(night, model, fits_keys=keys)
    out = write_csv(result.rows, model.class_names, tmp_path / "r.csv", result.extra_columns)
    rows = read_csv(out)
    probs = [f"prob_{c}" for c in model.class_names]
    assert rows[0] == ["file", "label", "confidence", *probs, "error", *keys]
    by_file = {r[0]: r for r in rows[1:]}
    # Values come from the primary header when the image extension lacks them; "=R" is
    # spreadsheet-escaped; a missing keyword and non-FITS files give empty cells.
    assert by_file["a.fits"][-4:] == ["2026-11-21T22:14:03", "'=R", "30.0", ""]
    assert by_file["b.png"][-4:] == ["", "", "", ""]
    assert by_file["c.fits"][-5] and by_file["c.fits"][-4:] == ["", "", "", ""]
    unasked = classify_folder(night, model)
    assert unasked.extra_columns == () and all(r.extra == () for r in unasked.rows)
    plain = read_csv(write_csv(unasked.rows, model.class_names, tmp_path / "p.csv"))
    assert plain[0] == ["file", "label", "confidence", *probs, "error"]
    assert {len(r) for r in plain} == {len(plain[0])}


def test_header_values_from_a_path_read_headers_only(tmp_path):
    frame = np.zeros((2000, 2000), dtype=np.float32)  # 16 MB of pixels
    plain = write_fits(tmp_path / "big.fits", frame, {"OBJECT": "M13"}, extension=True)
    gz = tmp_path / "big.fits.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes(), 1))
    fz = write_fits(tmp_path / "big.fits.fz", frame, {"FILTER": "R"}, compressed=True)
    assert fits_reader.header_values(plain, ["OBJECT", "NAXIS1"]) == {
        "OBJECT": "M13",
        "NAXIS1": "2000",
    }
    assert fits_reader.header_values(gz, ["OBJECT"]) == {"OBJECT": "M13"}
    assert fits_reader.header_values(fz, ["FILTER", "OBJECT"]) == {"FILTER": "R", "OBJECT": ""}
    cut = tmp_path / "cut.fits"
    cut.write_bytes(plain.read_bytes()[:4000])  # the extension's header is cut off
    assert fits_reader.header_values(cut, ["OBJECT"], hdu="SCI") == {"OBJECT": "M13"}  # primary's
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"not a FITS file at all" * 200)
    with pytest.raises(ImageError):
        fits_reader.header_values(garbage, ["OBJECT"])
