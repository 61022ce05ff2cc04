"""load_image on every kind of file a learner may bring, and the display helpers headless."""
import numpy as np
import pytest
import torch
from PIL import Image

from tutorial.images import ImageFiles, ImageLoadError, load_image, show_grid, show_images

H, W = 24, 40


def gradient_rgb():
    """A 24 x 40 image: red rises left to right, green top to bottom, blue constant."""
    array = np.zeros((H, W, 3), dtype=np.uint8)
    array[..., 0] = np.linspace(0, 255, W, dtype=np.uint8)[None, :]
    array[..., 1] = np.linspace(0, 255, H, dtype=np.uint8)[:, None]
    array[..., 2] = 128
    return Image.fromarray(array)


def check_rgb(tensor, shape=(3, H, W)):
    assert tensor.dtype == torch.float32 and tuple(tensor.shape) == shape
    assert 0.0 <= tensor.min() and tensor.max() <= 1.0


@pytest.mark.parametrize("suffix,kwargs", [("jpg", {"quality": 95}), ("png", {}), ("webp", {"lossless": True})])
def test_common_formats(tmp_path, suffix, kwargs):
    path = tmp_path / f"photo.{suffix}"
    gradient_rgb().save(path, **kwargs)
    tensor = load_image(path)
    check_rgb(tensor)
    assert tensor[0, 0, -1] > 0.9 and tensor[0, 0, 0] < 0.1  # red rises left to right, whatever the format


def test_grayscale_and_palette(tmp_path):
    gradient_rgb().convert("L").save(tmp_path / "gray.png")
    gray = load_image(tmp_path / "gray.png")
    check_rgb(gray)
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    gradient_rgb().convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(tmp_path / "palette.png")
    check_rgb(load_image(tmp_path / "palette.png"))


def test_transparency_is_shown_over_white(tmp_path):
    rgba = Image.new("RGBA", (W, H), (255, 0, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, W // 2, H))  # left half fully transparent
    rgba.save(tmp_path / "rgba.png")
    tensor = load_image(tmp_path / "rgba.png")
    check_rgb(tensor)
    assert torch.allclose(tensor[:, 0, 0], torch.ones(3))  # transparent -> white
    assert torch.allclose(tensor[:, 0, -1], torch.tensor([1.0, 0.0, 0.0]))  # opaque red stays red
    palette = Image.new("P", (W, H), 0)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.paste(1, (W // 2, 0, W, H))
    palette.save(tmp_path / "palette_transparent.png", transparency=0)
    tensor = load_image(tmp_path / "palette_transparent.png")
    assert torch.allclose(tensor[:, 0, 0], torch.ones(3)) and tensor[1, 0, -1] == 1.0


def test_cmyk_jpeg(tmp_path):
    gradient_rgb().convert("CMYK").save(tmp_path / "print.jpg")
    tensor = load_image(tmp_path / "print.jpg")
    check_rgb(tensor)
    assert tensor[0, 0, -1] > 0.8  # still red on the right


def test_sixteen_bit_keeps_its_range(tmp_path):
    ramp = np.linspace(0, 65535, W, dtype=np.uint16)[None, :].repeat(H, axis=0)
    Image.fromarray(ramp).save(tmp_path / "deep.png")  # mode I;16
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    tensor = load_image(tmp_path / "deep.png")
    check_rgb(tensor)
    assert tensor[0, 0, 0] == 0.0 and tensor[0, 0, -1] == pytest.approx(1.0)
    assert len(torch.unique(tensor[0, 0])) == W  # not clipped to a few grey levels


@pytest.mark.parametrize("orientation,top_left_red,top_left_green", [(6, 0.0, 1.0), (8, 1.0, 0.0)])
def test_exif_rotation_is_applied(tmp_path, orientation, top_left_red, top_left_green):
    image = gradient_rgb()
    exif = image.getexif()
    exif[0x0112] = orientation  # 6: rotate 90 degrees clockwise to display; 8: counter-clockwise
    image.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    tensor = load_image(tmp_path / "phone.jpg")
    check_rgb(tensor, shape=(3, W, H))  # portrait, as a viewer shows it
    # clockwise, the stored bottom-left corner (no red, full green) comes to the top left; counter-clockwise,
    # the stored top-right one (full red, no green)
    assert tensor[0, 0, 0].item() == pytest.approx(top_left_red, abs=0.06)
    assert tensor[1, 0, 0].item() == pytest.approx(top_left_green, abs=0.06)


def test_size_argument(tmp_path):
    gradient_rgb().save(tmp_path / "photo.png")
    check_rgb(load_image(tmp_path / "photo.png", size=12), shape=(3, 12, 20))  # shorter side
    check_rgb(load_image(tmp_path / "photo.png", size=(16, 16)), shape=(3, 16, 16))


@pytest.mark.parametrize("content,expected", [
    (b"", "empty"),
    (b"this is a text file, not a picture\n", "not an image"),
    (None, "damaged or truncated"),
])
def test_bad_files_get_clear_errors(tmp_path, content, expected):
    path = tmp_path / "bad.jpg"
    if content is None:  # a real JPEG cut in half
        gradient_rgb().resize((400, 300)).save(tmp_path / "whole.jpg", quality=95)
        whole = (tmp_path / "whole.jpg").read_bytes()
        content = whole[: len(whole) // 2]
    path.write_bytes(content)
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(tmp_path / "nowhere.png")
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_image(tmp_path)


def test_absurdly_large_image_is_refused_before_decoding_by_the_loaders_own_check(tmp_path):
    pillow_default = Image.MAX_IMAGE_PIXELS
    Image.new("1", (12_000, 9_000)).save(tmp_path / "huge.png")  # 108 MP, a few kB on disk
    with pytest.raises(ImageLoadError) as info:
        load_image(tmp_path / "huge.png")
    # the loader's message (Pillow's own guard, at 89 MP by default, used to answer first)
    assert "huge.png" in str(info.value) and "12000 x 9000 pixels (108 MP)" in str(info.value)
    assert Image.MAX_IMAGE_PIXELS == pillow_default  # Pillow's setting is restored


def test_max_pixels_really_moves_the_limit_both_ways(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # a Pillow guard stricter than ours
    Image.new("L", (1500, 1000)).save(tmp_path / "big.png")  # 1.5 MP
    assert load_image(tmp_path / "big.png", max_pixels=4_000_000).shape == (3, 1000, 1500)
    with pytest.raises(ImageLoadError, match=r"1500 x 1000 pixels \(1.5 MP\), over the limit of 1 MP.*larger max_pixels"):
        load_image(tmp_path / "big.png", max_pixels=1_000_000)
    with pytest.raises(ImageLoadError, match="more than twice the limit of 0.5 MP.*larger max_pixels"):
        load_image(tmp_path / "big.png", max_pixels=500_000)
    assert Image.MAX_IMAGE_PIXELS == 1_000_000


def test_display_helpers_work_headless(tmp_path):
    figure = show_grid(torch.rand(10, 1, 8, 8), nrow=5, title="noise", save=tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0 and figure.axes[0].get_title() == "noise"
    show_grid(torch.rand(4, 3, 8, 8) * 2 - 1, value_range=(-1, 1))
    figure = show_images([torch.rand(3, 8, 8), torch.rand(1, 8, 8)], titles=["a", "b"])
    assert [ax.get_title() for ax in figure.axes] == ["a", "b"]


def test_image_files_read_on_use_and_skip_a_bad_file(tmp_path):
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0)]):
        Image.new("RGB", (60, 40), colour).save(tmp_path / f"{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    files = ImageFiles([tmp_path / "0.png", tmp_path / "broken.jpg", tmp_path / "1.png"], size=20)
    assert len(files) == 3 and files[0].shape == (3, 20, 30)
    with pytest.warns(UserWarning, match="broken.jpg"):
        replaced = files[1]  # the unreadable file is reported once and the next picture is used instead
    assert torch.equal(replaced, files[2]) and files.bad == {1}
    assert torch.equal(files[-1], files[2]) and len(files[0:2]) == 2
    with pytest.raises(IndexError):
        files[3]


def test_image_files_kept_in_memory_fail_at_once(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    assert ImageFiles([tmp_path / "ok.png"], keep=True)[0].shape == (3, 8, 8)
    with pytest.raises(ImageLoadError, match="no such file"):
        ImageFiles([tmp_path / "ok.png", tmp_path / "gone.png"], keep=True)
    with pytest.raises(ImageLoadError, match="empty list"):
        ImageFiles([])
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.warns(UserWarning), pytest.raises(ImageLoadError, match="none of the 1 pictures"):
        ImageFiles([tmp_path / "bad.png"])[0]
