"""The Apple Wallet pass's icons: drawn by the 1-bit PNG writer the ticket codes use
(``gatepass.png``), without the QR encoder, which the pass's function does not otherwise need."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gatepass import png, qr, wallet
from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit


def test_the_pass_has_its_icon_and_logo_at_1x_and_2x() -> None:
    # When the pass's pictures are drawn
    icons = wallet.pass_icon_pngs()
    # Then each is a black-and-white PNG of the size Apple asks for (icon 29 pt, logo 50 pt)
    sizes = {name: Image.open(io.BytesIO(data)).size for name, data in icons.items()}
    assert sizes == {
        "icon.png": (29, 29),
        "icon@2x.png": (58, 58),
        "logo.png": (50, 50),
        "logo@2x.png": (100, 100),
    }
    icon = Image.open(io.BytesIO(icons["icon.png"])).convert("L")
    assert set(icon.getdata()) == {0, 255}


def test_the_ticket_codes_and_the_icons_share_one_png_writer() -> None:
    assert qr.png_from_matrix is png.png_from_matrix
    with pytest.raises(ValueError, match="box size"):
        png.png_from_matrix([[True]], 0)


def test_the_apple_pass_rule_loads_neither_the_qr_encoder_nor_pyjwt() -> None:
    # Given a fresh interpreter, When the pass's rule is imported, Then neither qrcode nor
    # PyJWT (which only Google's save links use) is
    printed = run_fresh(
        "import gatepass.logic.apple_pass; print('qrcode' in sys.modules, 'jwt' in sys.modules)"
    )
    assert printed.strip() == "False False"
