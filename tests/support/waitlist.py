"""What the waiting list emailed: the offer links in each person's mail (read from moto)."""

from __future__ import annotations

import re

from tests.support.mail import sent_to

# The site's claim page, as the offer mail links it (SITE_URL in the tests: AllowedWebOrigin).
OFFER_LINK = re.compile(r"http://localhost:8080/offers/([a-z2-7]{16})")


def offers_mailed_to(person: str) -> list[str]:
    """The offer ids of every link emailed to ``person``, oldest first."""
    return [m for mail in sent_to(person) for m in OFFER_LINK.findall(mail["Message"])]
