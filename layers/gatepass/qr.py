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

``qrcode`` only builds the module matrix; the PNG is written by ``gatepass.png`` with ``zlib``
and ``struct`` (1-bit grayscale, each module scaled by repeating bits and rows), which is several
times faster than drawing through Pillow and keeps Pillow out of the functions that render.
"""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q
from qrcode.util import MODE_ALPHA_NUM, QRData

from gatepass.png import png_from_matrix as png_from_matrix

BOX_SIZE = 8
MASK_PATTERN = 2
QUIET_ZONE = 4
ERROR_CORRECTION = "Q"
_LEVELS = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
CONTENT_TYPE = "image/png"
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


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


def symbol_version(matrix: list[list[bool]], quiet_zone: int = QUIET_ZONE) -> int:
    """The QR version (1 to 40) of a module matrix: 17 + 4 x version modules a side."""
    return (len(matrix) - 2 * quiet_zone - 17) // 4


def render_png(text: str, box_size: int = BOX_SIZE) -> bytes:
    """The PNG of the QR symbol that carries ``text`` (a ticket code)."""
    return png_from_matrix(module_matrix(text), box_size)
