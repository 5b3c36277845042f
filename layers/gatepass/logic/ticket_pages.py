"""Where a ticket's page is on the site: what ticket mail and wallet passes link to. Apart from
``gatepass.logic.ticket_views`` so that those functions do not define the API's ticket models."""

from __future__ import annotations


def ticket_page_url(site_url: str | None, ticket_id: str) -> str | None:
    """The ticket's page on the site (the owner signs in to see it), or None without a site."""
    if not site_url or not site_url.startswith(("https://", "http://")):
        return None
    return f"{site_url.rstrip('/')}/me/tickets/{ticket_id}"
