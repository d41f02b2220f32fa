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
