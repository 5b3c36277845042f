"""Image pipeline: a 12-megapixel camera JPEG to the display and thumbnail renditions, against
the naive way (decode at full size, resize twice from full size, save).

Quality is measured as PSNR of each rendition against a reference made from the undecoded
source pixels (the picture before the camera compressed it), resized once with Lanczos: the
closer a rendition is to it, the better it looks.
"""

from __future__ import annotations

import io
import math
import time
from functools import cache
from typing import Any

from bench.common import summary

CAMERA_SIZE = (4000, 3000)


@cache
def camera_picture(size: tuple[int, int] = CAMERA_SIZE) -> Any:
    """A photo-like picture: smooth sky, hard-edged structure, fine texture and sensor grain."""
    from PIL import Image, ImageDraw, ImageFilter

    width, height = size
    sky = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
            Image.radial_gradient("L").resize(size),
        ],
    )
    structure = Image.effect_mandelbrot(size, (-2.1, -1.2, 0.9, 1.2), 120).convert("RGB")
    picture = Image.blend(sky, structure, 0.35)
    draw = ImageDraw.Draw(picture)
    for index in range(60):
        x = (index * 7919) % width
        y = height // 2 + (index * 104729) % (height // 2)
        draw.rectangle(
            [x, y, x + width // 30, height], fill=(20 + index % 40, 24, 30 + (index * 3) % 50)
        )
    texture = Image.effect_noise(size, 40).filter(ImageFilter.GaussianBlur(1)).convert("RGB")
    grain = Image.effect_noise(size, 12).convert("RGB")
    return Image.blend(Image.blend(picture, texture, 0.12), grain, 0.05)


@cache
def camera_jpeg(size: tuple[int, int] = CAMERA_SIZE) -> bytes:
    """The picture as a camera writes it: JPEG quality 92 with EXIF (make, model)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Gatepass Bench Camera"
    exif[0x0110] = "GB-12"
    buffer = io.BytesIO()
    camera_picture(size).save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def gatepass_render(data: bytes) -> tuple[bytes, bytes]:
    from gatepass import imaging

    renditions = imaging.render(data, "image/jpeg")
    return renditions.display.data, renditions.thumbnail.data


def naive_render(data: bytes) -> tuple[bytes, bytes]:
    """Decode everything, orient, resize from full size twice, save with the same settings."""
    from PIL import Image, ImageOps

    from gatepass import imaging

    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened.convert("RGB"))
    out = []
    for longest in (imaging.DISPLAY_MAX, imaging.THUMBNAIL_MAX):
        resized = image.resize(imaging.fit(image.size, longest), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, "JPEG", quality=imaging.JPEG_QUALITY, optimize=True, progressive=True)
        out.append(buffer.getvalue())
    return out[0], out[1]


def psnr(candidate: bytes, reference: Any) -> float:
    from PIL import Image, ImageChops

    with Image.open(io.BytesIO(candidate)) as image:
        decoded = image.convert("RGB")
    if decoded.size != reference.size:
        raise ValueError(f"rendition is {decoded.size}, reference {reference.size}")
    histogram = ImageChops.difference(decoded, reference).histogram()
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mse = squared / (reference.width * reference.height * 3)
    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)


def quality(size: tuple[int, int] = CAMERA_SIZE) -> dict[str, Any]:
    from PIL import Image

    from gatepass import imaging

    source = camera_picture(size)
    data = camera_jpeg(size)
    references = [
        source.resize(imaging.fit(source.size, longest), Image.Resampling.LANCZOS)
        for longest in (imaging.DISPLAY_MAX, imaging.THUMBNAIL_MAX)
    ]
    result: dict[str, Any] = {"source_bytes": len(data), "source_size": list(size)}
    for name, render in (("gatepass", gatepass_render), ("naive", naive_render)):
        display, thumbnail = render(data)
        result[name] = {
            "display_bytes": len(display),
            "thumbnail_bytes": len(thumbnail),
            "display_psnr_db": psnr(display, references[0]),
            "thumbnail_psnr_db": psnr(thumbnail, references[1]),
            "display_size": list(Image.open(io.BytesIO(display)).size),
            "thumbnail_size": list(Image.open(io.BytesIO(thumbnail)).size),
        }
    return result


def run(repeats: int, size: tuple[int, int] = CAMERA_SIZE) -> dict[str, Any]:
    data = camera_jpeg(size)
    gatepass_render(data)  # warm: imports and Pillow's codecs are not timed
    naive_render(data)
    ours: list[float] = []
    naive: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        gatepass_render(data)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        naive_render(data)
        naive.append(time.perf_counter() - started)
    ours_s, naive_s = summary(ours), summary(naive)
    return {
        "gatepass_seconds": ours_s,
        "naive_seconds": naive_s,
        "speedup": naive_s["median"] / ours_s["median"],
        "quality": quality(size),
    }
