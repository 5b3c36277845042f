"""Ticket QR codes: a ticket code as a small, fast 1-bit PNG.

The code is upper-case base32, so it is encoded in QR alphanumeric mode (5.5 bits a character
instead of 8). Error correction is Q (about 25 % of the symbol recoverable), chosen for phone
screens that are cracked, smudged or in glare (docs/decisions/0065, measured by
``python -m bench --only qrdamage``): a 144-character version 2 code is a version 8 symbol
(49 x 49 modules), where M would give version 6 (41) and H version 10 (57). The quiet zone is the
4 modules the standard asks for: at the same displayed size a wider one only makes the modules
smaller, which the decode rates under blur and downscaling showed to cost more than it saves.
Each module is 8 px in the PNG (456 px square with the quiet zone), more than a phone shows it at,
so browsers scale the image down, not up.

The mask pattern is fixed too. Every mask is valid and decodes; the encoder's search over all
eight only trims a readability penalty, and it costs about 80 % of the rendering time. Mask 2
had the lowest mean and worst-case penalty over random ticket codes, so it is the one we use.

``qrcode`` only builds the module matrix; the PNG is written here with ``zlib`` and ``struct``
(1-bit grayscale, each module scaled by repeating bits and rows), which is several times faster
than drawing through Pillow and keeps Pillow out of the functions that render.
"""

from __future__ import annotations

import struct
import zlib

import qrcode
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q
from qrcode.util import MODE_ALPHA_NUM, QRData

BOX_SIZE = 8
MASK_PATTERN = 2
QUIET_ZONE = 4
ERROR_CORRECTION = "Q"
_LEVELS = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
CONTENT_TYPE = "image/png"
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def module_matrix(
    text: str, *, level: str = ERROR_CORRECTION, quiet_zone: int = QUIET_ZONE
) -> list[list[bool]]:
    """The QR symbol for ``text`` as rows of modules (True is dark), quiet zone included.
    ``level`` and ``quiet_zone`` are for comparisons (bench/qrdamage.py); tickets use the
    defaults."""
    if not text or not set(text) <= _ALPHANUMERIC:
        raise ValueError("QR alphanumeric mode takes 0-9, A-Z, space and $%*+-./: only")
    symbol = qrcode.QRCode(
        error_correction=_LEVELS[level], border=quiet_zone, mask_pattern=MASK_PATTERN
    )
    symbol.add_data(QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM))
    symbol.make(fit=True)
    matrix: list[list[bool]] = symbol.get_matrix()
    return matrix


def png_from_matrix(matrix: list[list[bool]], box_size: int = BOX_SIZE) -> bytes:
    """A 1-bit grayscale PNG: dark modules black, light modules white, ``box_size`` px each."""
    if box_size < 1 or not matrix:
        raise ValueError("need a non-empty matrix and a positive box size")
    width = len(matrix[0]) * box_size
    dark, light = "0" * box_size, "1" * box_size
    padding = "1" * (-width % 8)
    row_bytes = (width + 7) // 8
    scanlines = []
    for row in matrix:
        bits = "".join(dark if module else light for module in row) + padding
        # Filter type 0 (None) per scanline; the row repeats box_size times.
        scanlines.append((b"\x00" + int(bits, 2).to_bytes(row_bytes, "big")) * box_size)
    header = struct.pack(">IIBBBBB", width, len(matrix) * box_size, 1, 0, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(scanlines), 6)),
            _chunk(b"IEND", b""),
        )
    )


def symbol_version(matrix: list[list[bool]], quiet_zone: int = QUIET_ZONE) -> int:
    """The QR version (1 to 40) of a module matrix: 17 + 4 x version modules a side."""
    return (len(matrix) - 2 * quiet_zone - 17) // 4


def render_png(text: str, box_size: int = BOX_SIZE) -> bytes:
    """The PNG of the QR symbol that carries ``text`` (a ticket code)."""
    return png_from_matrix(module_matrix(text), box_size)


def pass_icon_pngs() -> dict[str, bytes]:
    """An Apple Wallet pass's icon (required; 29 pt at 1x and 2x) and logo: a ticket shape with
    a tear line, drawn with the same 1-bit PNG writer as the codes."""

    def ticket(size: int) -> list[list[bool]]:
        middle, notch = size // 2, max(2, size // 7)
        rows = []
        for y in range(size):
            row = []
            for x in range(size):
                inside = size // 8 <= y < size - size // 8
                notched = (x - 0) ** 2 + (y - middle) ** 2 < notch**2 or (x - size + 1) ** 2 + (
                    y - middle
                ) ** 2 < notch**2
                tear = x == size * 2 // 3 and y % 3 == 0
                row.append(inside and not notched and not tear)
            rows.append(row)
        return rows

    return {
        "icon.png": png_from_matrix(ticket(29), 1),
        "icon@2x.png": png_from_matrix(ticket(29), 2),
        "logo.png": png_from_matrix(ticket(50), 1),
        "logo@2x.png": png_from_matrix(ticket(50), 2),
    }


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
