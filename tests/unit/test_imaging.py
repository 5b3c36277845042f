"""gatepass.imaging on its own: what is accepted, what is refused and why, and what comes out."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from gatepass import imaging
from gatepass.errors import ImageRejected
from tests.support import images

pytestmark = pytest.mark.unit


def opened(rendition: imaging.Rendition) -> Image.Image:
    return Image.open(io.BytesIO(rendition.data))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (images.jpeg((16, 16)), "image/jpeg"),
        (images.png((16, 16)), "image/png"),
        (images.webp((16, 16)), "image/webp"),
        (images.gif((16, 16)), None),
        (b"RIFF\0\0\0\0WAVEfmt ", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"", None),
    ],
)
def test_the_format_comes_from_the_magic_bytes(data: bytes, expected: str | None) -> None:
    assert imaging.sniff(data) == expected


@pytest.mark.parametrize(
    ("size", "longest", "expected"),
    [
        ((6000, 4000), 1600, (1600, 1067)),
        ((4000, 6000), 1600, (1067, 1600)),
        ((1600, 1600), 1600, (1600, 1600)),
        ((300, 200), 1600, (300, 200)),
        ((40_000, 10), 1600, (1600, 1)),
    ],
)
def test_fit_scales_down_never_up(
    size: tuple[int, int], longest: int, expected: tuple[int, int]
) -> None:
    assert imaging.fit(size, longest) == expected


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (images.jpeg((3000, 2000)), "image/jpeg"),
        (images.png((3000, 2000)), "image/png"),
        (images.webp((3000, 2000)), "image/webp"),
    ],
)
def test_each_format_gives_a_display_image_and_a_thumbnail(data: bytes, content_type: str) -> None:
    renditions = imaging.render(data, content_type)

    assert renditions.source_type == content_type
    assert (renditions.source_width, renditions.source_height) == (3000, 2000)
    display, thumbnail = opened(renditions.display), opened(renditions.thumbnail)
    assert display.size == (1600, 1067) == (renditions.display.width, renditions.display.height)
    assert thumbnail.size == (400, 267)
    assert display.format == "JPEG"
    assert renditions.display.extension == "jpg"
    assert renditions.display.content_type == "image/jpeg"


def test_a_small_image_is_not_enlarged() -> None:
    renditions = imaging.render(images.jpeg((320, 180)), "image/jpeg")
    assert opened(renditions.display).size == (320, 180)
    assert opened(renditions.thumbnail).size == (320, 180)


def test_the_display_image_keeps_the_picture() -> None:
    # A red square on a blue field must still be red in the middle and blue at the corner.
    picture = Image.new("RGB", (2400, 1600), (20, 40, 200))
    picture.paste((220, 30, 30), (900, 500, 1500, 1100))
    display = opened(imaging.render(images.encode(picture, "JPEG", quality=95)).display)
    red, blue = display.getpixel((800, 533)), display.getpixel((10, 10))
    assert isinstance(red, tuple)
    assert isinstance(blue, tuple)
    assert red[0] > 180
    assert red[2] < 80
    assert blue[2] > 160
    assert blue[0] < 80


@pytest.mark.parametrize(
    ("orientation", "expected"),
    [(1, (300, 200)), (2, (300, 200)), (3, (300, 200)), (4, (300, 200))]
    + [(o, (200, 300)) for o in (5, 6, 7, 8)],
)
def test_exif_orientation_is_applied(orientation: int, expected: tuple[int, int]) -> None:
    renditions = imaging.render(images.jpeg((300, 200), orientation=orientation), "image/jpeg")
    assert opened(renditions.display).size == expected
    assert opened(renditions.thumbnail).size == expected


def test_orientation_turns_the_pixels_the_right_way() -> None:
    # Stored sideways with the top-left quarter white; orientation 6 means "rotate 90 clockwise
    # to view", so white must end up top-right.
    stored = Image.new("RGB", (400, 200), (0, 0, 0))
    stored.paste((255, 255, 255), (0, 0, 200, 100))
    exif = Image.Exif()
    exif[images.ORIENTATION] = 6
    data = images.encode(stored, "JPEG", quality=95, exif=exif.tobytes())

    display = opened(imaging.render(data, "image/jpeg").display)

    assert display.size == (200, 400)
    assert display.getpixel((150, 50)) == pytest.approx((255, 255, 255), abs=16)
    assert display.getpixel((50, 50)) == pytest.approx((0, 0, 0), abs=16)


def test_all_metadata_is_stripped() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[images.MAKE] = "Gatepass Test Camera"
    exif[images.ORIENTATION] = 1
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Olivia")
    sources = [
        images.jpeg((800, 600), orientation=3),
        images.encode(images.picture((800, 600)), "JPEG", exif=exif.tobytes(), icc_profile=icc),
        images.encode(images.picture((800, 600)), "PNG", pnginfo=info, icc_profile=icc),
        images.encode(images.picture((800, 600)), "WEBP", exif=exif.tobytes(), icc_profile=icc),
    ]
    for data in sources:
        renditions = imaging.render(data)
        for rendition in (renditions.display, renditions.thumbnail):
            image = opened(rendition)
            assert len(image.getexif()) == 0
            assert not {"exif", "icc_profile", "Author", "xmp"} & set(image.info)
            assert b"Gatepass Test Camera" not in rendition.data
            assert b"Olivia" not in rendition.data


def test_transparency_is_kept_as_webp_and_opaque_alpha_becomes_jpeg() -> None:
    transparent = imaging.render(images.png((600, 400), mode="RGBA"), "image/png")
    assert transparent.display.extension == "webp"
    assert opened(transparent.display).mode == "RGBA"
    assert opened(transparent.thumbnail).mode == "RGBA"

    opaque = images.encode(images.picture((600, 400)).convert("RGBA"), "PNG")
    assert imaging.render(opaque, "image/png").display.extension == "jpg"


def test_palette_cmyk_greyscale_and_16_bit_images_are_converted() -> None:
    palette = images.encode(images.picture((300, 200)).convert("P"), "PNG")
    cmyk = images.encode(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG")
    grey = images.encode(Image.new("L", (300, 200), 128), "JPEG")
    deep = images.encode(Image.new("I;16", (300, 200), 30_000), "PNG")

    assert opened(imaging.render(palette).display).mode == "RGB"
    red = opened(imaging.render(cmyk).display).getpixel((10, 10))
    assert isinstance(red, tuple)
    assert red[0] > 200
    assert red[1] < 60
    assert opened(imaging.render(grey).display).getpixel((10, 10)) == pytest.approx(128, abs=2)
    # 30000 / 65535 of full scale is about 117 of 255, not clipped to white
    assert opened(imaging.render(deep).display).getpixel((10, 10)) == pytest.approx(117, abs=2)


def test_an_animated_image_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (60, 40), colour) for colour in ((250, 0, 0), (0, 250, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    display = opened(imaging.render(buffer.getvalue(), "image/webp").display)
    pixel = display.getpixel((30, 20))
    assert isinstance(pixel, tuple)
    assert pixel[0] > 200


def zip_bomb_in_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "A" * (20 * 1024 * 1024), zip=True)
    return images.encode(Image.new("RGB", (10, 10)), "PNG", pnginfo=info)


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (images.gif(), None, "not a JPEG, PNG or WebP image"),
        (b"%PDF-1.7\n", "image/jpeg", "not a JPEG, PNG or WebP image"),
        (images.png((50, 50)), "image/jpeg", "sent as JPEG but it is a PNG image"),
        (images.jpeg((50, 50)), "image/webp", "sent as WebP but it is a JPEG image"),
        (images.jpeg((50, 50)), "application/octet-stream", "sent as application/octet-stream"),
        (images.png_claiming(100_000, 100_000), "image/png", "more pixels than the limit"),
        (images.png_claiming(8000, 6000), "image/png", "more pixels than the limit"),
        (images.decompression_bomb(), "image/png", "more pixels than the limit"),
        (zip_bomb_in_metadata(), "image/png", "damaged or incomplete"),
        (images.truncated_jpeg(), "image/jpeg", "damaged or incomplete"),
        (images.png((400, 300))[:-200], "image/png", "damaged or incomplete"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 64, "image/jpeg", "damaged or incomplete"),
    ],
)
def test_bad_images_are_rejected_with_a_reason(
    data: bytes, declared: str | None, reason: str
) -> None:
    with pytest.raises(ImageRejected) as rejected:
        imaging.render(data, declared)
    assert reason in rejected.value.message


def test_the_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    # A header that claims 30000 x 30000 in a file of a few bytes: decoding would need 2.7 GB.
    with pytest.raises(ImageRejected, match="limit"):
        imaging.render(images.png_claiming(30_000, 30_000), "image/png")
    # And a configurable limit names the dimensions
    with pytest.raises(ImageRejected) as rejected:
        imaging.render(images.png((300, 200)), "image/png", max_pixels=50_000)
    assert "300 x 200" in rejected.value.message


def test_a_declared_type_with_parameters_is_understood() -> None:
    renditions = imaging.render(images.jpeg((64, 64)), "Image/JPEG; charset=binary")
    assert renditions.source_type == "image/jpeg"
