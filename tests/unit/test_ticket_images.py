"""Tickets' QR images apart from the sale: what shows or re-stores an image loads none of the
sale's machinery."""

from __future__ import annotations

import pytest

from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit


def test_showing_and_storing_images_loads_no_sale_machinery() -> None:
    # When get-qr-code's, transfers' and reissues' logic is imported in a fresh interpreter
    printed = run_fresh(
        "import gatepass.logic.ticket_images, gatepass.logic.transfers, gatepass.logic.reissue\n"
        "sale = ('aws_lambda_powertools.utilities.idempotency', 'gatepass.logic.tickets',\n"
        "        'gatepass.logic.queue', 'gatepass.dal.queue', 'gatepass.queue_tokens')\n"
        "print(sorted(m for m in sys.modules if m.startswith(sale)))"
    )

    # Then neither the sale, its idempotency records nor the on-sale queue were loaded
    assert printed.strip() == "[]"
