"""WaitlistFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, Mail, OfferTimer, Site, TicketingTable


class WaitlistSettings(Api, TicketingTable, Mail, OfferTimer, Site, FunctionSettings):
    """The emailed offer link opens ``SITE_URL`` (else ``ALLOWED_WEB_ORIGIN``)."""

    @property
    def offer_site(self) -> str:
        return self.site_url or self.allowed_web_origin
