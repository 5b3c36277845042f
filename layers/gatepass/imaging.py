"""Cover images: check an uploaded file and render a display image and a thumbnail.

The only module that imports Pillow. Untrusted bytes are checked before they are decoded: the
real format comes from the magic bytes (the declared type must agree), the pixel count from the
header (``Image.open`` reads no pixel data), and Pillow's own decompression-bomb guard is made an
error. Anything Pillow cannot decode becomes an ``ImageRejected`` with a reason a person can read.

Speed: a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that still covers the display
size (``Image.draft``), and the thumbnail is made from the display image, not from full size.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from gatepass.errors import ImageRejected

MAX_PIXELS = 40_000_000
DISPLAY_MAX = 1600
THUMBNAIL_MAX = 400
JPEG_QUALITY = 82
WEBP_QUALITY = 82

# Pillow warns above this and refuses above twice this; warnings are made errors below.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_NAME = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class Renditions:
    source_type: str
    source_width: int
    source_height: int
    display: Rendition
    thumbnail: Rendition


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are, from their signature, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its longest side is at most ``longest``."""
    width, height = size
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def render(
    data: bytes, declared_type: str | None = None, *, max_pixels: int = MAX_PIXELS
) -> Renditions:
    """Check ``data`` and render its display image and thumbnail; raises ImageRejected."""
    actual = sniff(data)
    if actual is None:
        raise ImageRejected("The file is not a JPEG, PNG or WebP image.")
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared != actual:
        raise ImageRejected(
            f"The file was sent as {_NAME.get(declared, declared)} "
            f"but it is a {_NAME[actual]} image."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[actual]]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageRejected(_too_many_pixels(width, height, max_pixels))
                display = _display_image(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            f"The image has more pixels than the limit of {max_pixels // 1_000_000} megapixels."
        ) from exc
    except MemoryError as exc:
        raise ImageRejected("The image is too large to process.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as exc:
        # Pillow reports truncated and corrupt files through all of these.
        raise ImageRejected("The image file is damaged or incomplete.") from exc

    thumbnail = _resize(display, fit(display.size, THUMBNAIL_MAX))
    return Renditions(
        source_type=actual,
        source_width=width,
        source_height=height,
        display=_encode(display),
        thumbnail=_encode(thumbnail),
    )


def _too_many_pixels(width: int, height: int, max_pixels: int) -> str:
    return (
        f"The image is {width} x {height} pixels; "
        f"the limit is {max_pixels // 1_000_000} megapixels."
    )


def _display_image(image: Image.Image) -> Image.Image:
    if image.format == "JPEG":
        image.draft(None, fit(image.size, DISPLAY_MAX))
    image.load()
    icc = image.info.get("icc_profile")
    _apply_orientation(image)
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit greyscale: scale to 8 bits rather than clip everything above 255 to white.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if image.mode not in ("RGB", "RGBA", "L", "CMYK"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    display = _to_srgb(_resize(image, fit(image.size, DISPLAY_MAX)), icc)
    if display.mode == "RGBA" and display.getchannel("A").getextrema()[0] == 255:
        # An alpha channel nothing shows through is dropped: JPEG is smaller than WebP here.
        display = display.convert("RGB")
    display.info = {}
    return display


def _apply_orientation(image: Image.Image) -> None:
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except (ValueError, OSError, SyntaxError, struct.error, KeyError, TypeError):
        # Unreadable EXIF is dropped with the rest of the metadata; the pixels are fine.
        return


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB: the colour profile is applied here, then dropped with the metadata."""
    if image.mode == "L" and not icc:
        return image
    mode = "RGBA" if image.mode == "RGBA" else "RGB"
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
        if converted is not None:
            return converted
    return image if image.mode == mode else image.convert(mode)


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image.copy()
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image) -> Rendition:
    buffer = io.BytesIO()
    if image.mode == "RGBA":
        # Keep transparency: JPEG has none.
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
        content_type, extension = "image/webp", "webp"
    else:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        content_type, extension = "image/jpeg", "jpg"
    return Rendition(
        data=buffer.getvalue(),
        content_type=content_type,
        extension=extension,
        width=image.width,
        height=image.height,
    )
