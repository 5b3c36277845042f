"""Test images made with Pillow: real files of every kind the image pipeline must handle."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = 0x8825


def picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A smooth picture with detail in both directions (so that JPEG has work to do)."""
    width, height = size
    horizontal = Image.linear_gradient("L").resize((width, height))
    vertical = Image.linear_gradient("L").rotate(90).resize((width, height))
    image = Image.merge("RGB", [horizontal, vertical, Image.new("L", size, 96)])
    if mode == "RGBA":
        # Really transparent: from clear on the left to opaque on the right.
        image.putalpha(horizontal)
        return image
    return image.convert(mode) if mode != "RGB" else image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = (1200, 800), *, orientation: int | None = None) -> bytes:
    """A JPEG with camera EXIF (make, GPS position) and optionally an orientation tag."""
    exif = Image.Exif()
    exif[MAKE] = "Gatepass Test Camera"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (57.0, 42.0, 0.0), 3: "E", 4: (11.0, 58.0, 0.0)})
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return encode(picture(size), "JPEG", quality=90, exif=exif.tobytes())


def png(size: tuple[int, int] = (800, 600), mode: str = "RGB") -> bytes:
    return encode(picture(size, mode), "PNG")


def webp(size: tuple[int, int] = (800, 600)) -> bytes:
    return encode(picture(size), "WEBP", quality=80)


def gif(size: tuple[int, int] = (64, 48)) -> bytes:
    return encode(picture(size, "P"), "GIF")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    data = bytearray(png((4, 4)))
    ihdr = 8  # after the signature: length (4), type (4), data (13), crc (4)
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4 : ihdr + 21])) & 0xFFFFFFFF
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


def decompression_bomb() -> bytes:
    """A genuine bomb: 10000 x 10000 black pixels (100 megapixels) in a file of a few kB."""
    return encode(Image.new("1", (10_000, 10_000)), "PNG", optimize=True)


def truncated_jpeg() -> bytes:
    whole = jpeg((1200, 800))
    return whole[: len(whole) // 2]
