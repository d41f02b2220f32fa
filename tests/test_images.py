import io

import numpy as np
import pytest
from PIL import Image

from classifier import images
from classifier.errors import ImageError


def _bytes(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_exif_orientation_is_applied():
    # A wide image whose EXIF says "rotate 90 degrees": it must come out tall.
    image = Image.new("RGB", (60, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _bytes(image, "JPEG", exif=exif.tobytes())
    assert images.decode_rgb(data).size == (20, 60)


def test_palette_with_transparency_composites_on_fixed_background():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0] + [255, 0, 0] * 255)
    image.info["transparency"] = 0
    rgb = np.asarray(images.decode_rgb(_bytes(image, "PNG", transparency=0)))
    assert tuple(rgb[0, 0]) == images.BACKGROUND


def test_rgba_alpha_composited():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    image.putpixel((0, 0), (10, 20, 30, 255))
    rgb = np.asarray(images.decode_rgb(_bytes(image, "PNG")))
    assert tuple(rgb[0, 0]) == (10, 20, 30)
    assert tuple(rgb[1, 1]) == images.BACKGROUND


def test_cmyk_and_grayscale_become_rgb():
    cmyk = Image.new("CMYK", (5, 5), (0, 255, 255, 0))  # pure red in CMYK
    rgb = np.asarray(images.decode_rgb(_bytes(cmyk, "JPEG", quality=100)))
    assert rgb.shape == (5, 5, 3)
    assert rgb[..., 0].mean() > 200 and rgb[..., 1].mean() < 60
    gray = images.decode_rgb(_bytes(Image.new("L", (3, 3), 77), "PNG"))
    assert gray.mode == "RGB" and np.asarray(gray)[0, 0].tolist() == [77, 77, 77]


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_scaled_to_full_range_not_clipped(fmt):
    ramp = np.linspace(1000, 4000, 64, dtype=np.uint16).reshape(8, 8)
    data = _bytes(Image.fromarray(ramp), fmt)
    rgb = np.asarray(images.decode_rgb(data))
    assert rgb.min() == 0 and rgb.max() == 255
    # Linear: the middle of the ramp maps to the middle of the 8-bit range.
    assert abs(int(rgb.reshape(-1, 3)[32, 0]) - 130) <= 3
    assert len(np.unique(rgb[..., 0])) > 50  # detail kept, not a clipped white block


def test_gif_first_frame_and_tiff_first_page():
    frames = [Image.new("RGB", (4, 4), c) for c in [(255, 0, 0), (0, 0, 255)]]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    assert np.asarray(images.decode_rgb(gif.getvalue()))[0, 0, 0] > 200
    tiff = io.BytesIO()
    frames[1].save(tiff, "TIFF", save_all=True, append_images=frames[:1])
    assert np.asarray(images.decode_rgb(tiff.getvalue()))[0, 0, 2] > 200


@pytest.mark.parametrize("fmt", ["BMP", "WEBP", "TIFF", "PNG", "JPEG", "GIF"])
def test_formats_decode_to_model_input(fmt):
    data = _bytes(Image.new("RGB", (50, 30), (0, 128, 255)), fmt)
    pixels = images.decode_for_model(data, 32)
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8


def test_truncated_jpeg_and_png_are_errors_not_grey_images():
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8))
    for fmt in ("JPEG", "PNG"):
        data = _bytes(noise, fmt)
        with pytest.raises(ImageError) as info:
            images.decode_rgb(data[: len(data) // 2])
        assert info.value.kind == "truncated"


def test_corrupt_and_foreign_files():
    with pytest.raises(ImageError) as info:
        images.decode_rgb(b"this is plainly not an image")
    assert info.value.kind == "corrupt"
    assert "not an image" in info.value.what


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError) as info:
        images.read_file(empty)
    assert info.value.kind == "empty_file"
    with pytest.raises(ImageError) as info:
        images.read_file(tmp_path / "missing.png")
    assert info.value.kind == "unreadable"


def test_decompression_bomb_limit_is_explicit_and_configurable():
    data = _bytes(Image.new("L", (2000, 1000)), "PNG")
    with pytest.raises(ImageError) as info:
        images.decode_rgb(data, max_pixels=1_000_000)
    assert info.value.kind == "too_large"
    assert "2000x1000" in info.value.what
    assert images.decode_rgb(data, max_pixels=3_000_000).size == (2000, 1000)


def test_large_jpeg_decodes_at_reduced_scale():
    data = _bytes(Image.new("RGB", (4000, 3000), (9, 99, 199)), "JPEG")
    # Draft decoding gives the smallest DCT scale still >= the hint: 1/8 here.
    assert images.decode_rgb(data, (224, 224)).size == (500, 375)
    assert images.decode_for_model(data, 224).shape == (224, 224, 3)


def test_thumbnail_keeps_aspect_ratio(tmp_path):
    path = tmp_path / "wide.jpg"
    Image.new("RGB", (800, 200), (1, 2, 3)).save(path)
    assert images.load_thumbnail(path, 100).size == (100, 25)


def test_digest_depends_on_content_only(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (3, 3), 5).save(a)
    b.write_bytes(a.read_bytes())
    _, digest_a = images.load_for_model(a, 8)
    _, digest_b = images.load_for_model(b, 8)
    assert digest_a == digest_b
    Image.new("RGB", (3, 3), 6).save(b)
    assert images.load_for_model(b, 8)[1] != digest_a


def _finishes(function, *args, seconds: float = 20.0):
    """Run `function` in a thread: a hang fails the test instead of blocking the suite."""
    import threading

    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} did not return within {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_hostile_files_are_refused_without_being_read(tmp_path):
    import contextlib
    import os

    from hostile import MAX_PIXELS, make_hostile_files

    with contextlib.ExitStack() as stack:
        expected = make_hostile_files(tmp_path, stack)
        for name, kind in expected.items():
            path = tmp_path / name

            def check(path=path):
                with images.reading(path, MAX_PIXELS) as data:
                    return images.verify(data, MAX_PIXELS)

            if kind:
                with pytest.raises(ImageError) as info:
                    _finishes(check)
                assert info.value.kind == kind, name
            else:
                assert _finishes(check).width > 0
        # The pipe was never opened: a writer opening it now finds no reader.
        with pytest.raises(OSError):
            os.open(tmp_path / "pipe.png", os.O_WRONLY | os.O_NONBLOCK)
        _finishes(images.read_ahead, [tmp_path / n for n in expected])


def test_file_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(_bytes(Image.new("L", (10, 10)), "PNG") + bytes(1000))
    limit = images.max_file_bytes(1)
    assert 8 < limit < len(path.read_bytes()) + limit
    monkeypatch.setattr(images, "max_file_bytes", lambda max_pixels: 200)
    opened = []
    monkeypatch.setattr(images.os, "open", lambda *a, **k: opened.append(a) or 1 / 0)
    with pytest.raises(ImageError) as info:
        images.read_file(path)
    assert info.value.kind == "too_large" and "--max-pixels" in info.value.todo
    assert not opened


def test_error_kinds_are_one_enum_shared_with_problems():
    from classifier.errors import ImageErrorKind
    from classifier.types import FILE_FAILURES, ProblemKind

    assert {k.value for k in ImageErrorKind} == {k.value for k in FILE_FAILURES}
    assert all(ProblemKind(k) == k for k in ImageErrorKind)
    error = ImageError("not_a_file", "what")
    assert error.kind is ImageErrorKind.NOT_A_FILE and error.kind == "not_a_file"


def test_large_decodes_share_the_memory_budget(tmp_path, monkeypatch):
    """Eight workers meeting big images decode them one at a time when the budget holds one."""
    import threading
    import time

    from hostile import big_png
    from PIL import ImageFile

    from classifier import memory
    from classifier.scan import scan_dataset

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            (tmp_path / name / f"{i}.png").write_bytes(big_png(shade=10 * i + ord(name)))
    budget = memory.Budget(capacity=100 << 20)  # one 9-megapixel decode (72 MB) at a time
    monkeypatch.setattr(memory, "BUDGET", budget)
    running, most = [0], [0]
    lock = threading.Lock()
    load = ImageFile.ImageFile.load

    def counting_load(self):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # long enough for the other workers to arrive
        try:
            return load(self)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    result = scan_dataset(tmp_path, workers=8)
    assert len(result.images) == 6
    assert most[0] == 1 and budget.peak == 72_000_000 and budget.used == 0


def test_gzipped_fits_reserves_the_budget_while_it_inflates(monkeypatch):
    import gzip

    from hostile import fits_bytes

    from classifier import fits_reader, memory

    budget = memory.Budget(capacity=1 << 40, large_bytes=1 << 20)
    monkeypatch.setattr(memory, "BUDGET", budget)
    packed = gzip.compress(fits_bytes(np.ones((1000, 1000), dtype=np.float32)), 1)
    assert len(packed) < 1 << 20
    assert fits_reader.read_fits(packed).data.shape == (1000, 1000)
    assert budget.peak > 0 and budget.used == 0


def test_running_out_of_memory_is_one_files_problem(tmp_path, monkeypatch):
    from datasets import make_dataset

    from classifier.scan import scan_dataset

    make_dataset(tmp_path, per_class=3)
    real = images.verify

    def verify(data, *args):
        if data == (tmp_path / "Red" / "red_001.png").read_bytes():
            raise MemoryError
        return real(data, *args)

    monkeypatch.setattr(images, "verify", verify)
    result = scan_dataset(tmp_path)
    [problem] = [p for p in result.problems if p.path and p.path.name == "red_001.png"]
    assert problem.kind == "out_of_memory" and "memory" in problem.message
    assert len(result.images) == 8


def test_a_file_that_grows_after_its_stat_is_read_whole_up_to_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "growing.png"
    data = _bytes(Image.new("RGB", (30, 20), (1, 2, 3)), "PNG")
    path.write_bytes(data)
    assert images._read(path, 10, 10_000) == data  # stat said 10 bytes: the rest is read too
    reads = []
    real = images.os.read
    monkeypatch.setattr(images.os, "read", lambda fd, n: reads.append(n) or real(fd, n))
    with pytest.raises(ImageError) as info:
        images._read(path, 10, 50)
    assert info.value.kind == "too_large" and sum(reads) <= 51


def test_images_with_alpha_reserve_what_compositing_costs(monkeypatch):
    from classifier import memory

    budget = memory.Budget(capacity=1 << 40, large_bytes=1 << 20)
    monkeypatch.setattr(memory, "BUDGET", budget)
    images.decode_rgb(_bytes(Image.new("RGBA", (1000, 500), (1, 2, 3, 4)), "PNG"))
    assert budget.peak == 1000 * 500 * memory.ALPHA_DECODE_BYTES_PER_PIXEL
    images.decode_rgb(_bytes(Image.new("RGB", (1000, 500)), "PNG"))
    assert budget.peak == 1000 * 500 * memory.ALPHA_DECODE_BYTES_PER_PIXEL  # RGB costs less
