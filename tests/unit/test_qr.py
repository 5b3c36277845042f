"""QR rendering: every symbol is read back by a real decoder (ZXing)."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from gatepass import ids, qr, ticket_codes
from tests.support.factories import decode_qr_png

pytestmark = pytest.mark.unit

KEY = ticket_codes.generate_signing_key()


def _code() -> str:
    return KEY.sign(ids.new_id(), ids.new_id())


def _chunks(png: bytes) -> dict[bytes, bytes]:
    chunks, offset = {}, 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data), f"bad CRC in {kind!r}"
        chunks[kind] = chunks.get(kind, b"") + data
        offset += 12 + length
    return chunks


@pytest.mark.parametrize("attempt", range(5))
def test_a_rendered_ticket_code_is_read_back_by_a_real_decoder_and_verifies(attempt: int) -> None:
    # Given a genuine ticket code
    event_id, ticket_id = ids.new_id(), ids.new_id()
    code = KEY.sign(event_id, ticket_id)

    # When it is rendered and the PNG is scanned
    decoded = decode_qr_png(qr.render_png(code))

    # Then the scanner reads exactly the code, and the code verifies as that ticket
    assert decoded == [code]
    assert ticket_codes.verify(decoded[0], {KEY.key_id: KEY.public()}).ticket_id == ticket_id


def test_the_png_is_one_bit_grayscale_with_a_white_quiet_zone() -> None:
    # Given a rendered ticket code
    png = qr.render_png(_code())

    # Then it is a valid PNG: 1-bit grayscale, square, a whole number of modules wide
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    header = _chunks(png)[b"IHDR"]
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour, interlace) == (1, 0, 0)
    assert width == height
    assert width % qr.BOX_SIZE == 0
    # and the 4-module border around the symbol is white all round
    image = Image.open(io.BytesIO(png)).convert("L")
    border = qr.QUIET_ZONE * qr.BOX_SIZE
    pixels = image.load()
    assert pixels is not None
    for x in range(width):
        for y in (*range(border), *range(height - border, height)):
            assert pixels[x, y] == 255
            assert pixels[y, x] == 255
    # and the symbol itself starts with the dark corner of a finder pattern
    assert pixels[border, border] == 0


def test_a_ticket_code_is_a_version_8_symbol_at_level_q() -> None:
    # QR alphanumeric mode at level Q (docs/decisions/0065) keeps a 144-character code at
    # version 8 (49 modules), with the standard 4-module quiet zone
    code = _code()
    assert len(code) == 144
    matrix = qr.module_matrix(code)
    assert qr.ERROR_CORRECTION == "Q"
    assert qr.QUIET_ZONE == 4
    assert qr.symbol_version(matrix) == 8
    assert len(matrix) == 49 + 2 * qr.QUIET_ZONE
    # where M would have made version 6 and H version 10
    assert qr.symbol_version(qr.module_matrix(code, level="M")) == 6
    assert qr.symbol_version(qr.module_matrix(code, level="H")) == 10


@pytest.mark.parametrize("box_size", [1, 3, 4, 10])
def test_box_size_scales_every_module(box_size: int) -> None:
    # Given the module matrix of a code
    code = _code()
    matrix = qr.module_matrix(code)

    # When it is written at a box size
    image = Image.open(io.BytesIO(qr.png_from_matrix(matrix, box_size))).convert("L")

    # Then each module is a box_size square of its colour
    assert image.size == (len(matrix) * box_size, len(matrix) * box_size)
    pixels = image.load()
    assert pixels is not None
    for row_index, row in enumerate(matrix):
        for column_index, dark in enumerate(row):
            x, y = column_index * box_size, row_index * box_size
            expected = 0 if dark else 255
            assert pixels[x, y] == expected
            assert pixels[x + box_size - 1, y + box_size - 1] == expected
    if box_size >= 3:
        assert decode_qr_png(qr.png_from_matrix(matrix, box_size)) == [code]


@pytest.mark.parametrize("text", ["", "lower case", "TICKET#1", "ÉTÉ"])
def test_text_outside_the_alphanumeric_alphabet_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="alphanumeric"):
        qr.render_png(text)


def test_a_bad_box_size_is_refused() -> None:
    with pytest.raises(ValueError, match="box size"):
        qr.png_from_matrix(qr.module_matrix(_code()), 0)


def test_rendering_needs_no_pillow() -> None:
    # Given a Python where Pillow cannot be imported (as in the create-ticket function)
    script = """
import sys
class NoPillow:
    def find_spec(self, name, path, target=None):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("Pillow is not installed")
sys.meta_path.insert(0, NoPillow())
from gatepass import qr
sys.stdout.buffer.write(qr.render_png(sys.argv[1]))
"""
    code = _code()

    # When a ticket code is rendered there
    rendered = subprocess.run(
        [sys.executable, "-c", script, code],
        capture_output=True,
        check=True,
        cwd=Path(qr.__file__).resolve().parent.parent,
    ).stdout

    # Then the PNG is the same one and it scans
    assert rendered == qr.render_png(code)
    assert decode_qr_png(rendered) == [code]
