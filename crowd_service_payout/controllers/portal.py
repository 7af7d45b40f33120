import pytz
from werkzeug.exceptions import NotFound

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.crowd_service.controllers.portal_home import CrowdPortalHome
from odoo.addons.portal.controllers.portal import pager as portal_pager

MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id in a URL is just another unknown id


class CrowdPayoutPortal(CrowdPortalHome):
    _payouts_per_page = 20

    def _crowd_home_values(self):
        """The expert's Payouts tile, always shown (template: portal_tile_payouts)."""
        values = super()._crowd_home_values()
        if values["crowd_is_expert"]:
            values.update(self._prepare_home_portal_values(["crowd_payout_count"]))
        return values

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "crowd_payout_count" in counters:
            Payout = request.env["crowd.payout"]
            # plain count: the record rules restrict it to the expert's own payouts
            values["crowd_payout_count"] = (
                Payout.search_count(self._crowd_payout_domain()) if Payout.has_access("read") else 0
            )
        return values

    def _crowd_payout_domain(self):
        return [("expert_id", "=", request.env.user.partner_id.id), ("state", "not in", ("draft",))]

    @http.route(["/my/payouts", "/my/payouts/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_crowd_payouts(self, page=1, **kw):
        Payout = request.env["crowd.payout"]
        if not Payout.has_access("read"):
            return request.redirect("/my")
        domain = self._crowd_payout_domain()
        pager = portal_pager(
            url="/my/payouts", total=Payout.search_count(domain), page=page, step=self._payouts_per_page
        )
        payouts = Payout.search(domain, limit=self._payouts_per_page, offset=pager["offset"])
        request.session["my_crowd_payouts_history"] = payouts.ids[:100]
        values = self._prepare_portal_layout_values()
        values.update({"payouts": payouts, "pager": pager, "page_name": "crowd_payout", "default_url": "/my/payouts"})
        # the times of the page in the user's time zone, else the browser's
        tz = request.env.user.tz or request.httprequest.cookies.get("tz")
        if tz in pytz.all_timezones_set and request.env.context.get("tz") != tz:
            request.update_context(tz=tz)
        return request.render("crowd_service_payout.portal_my_crowd_payouts", values)

    @http.route(["/my/payouts/<int:payout_id>"], type="http", auth="public", website=True)
    def portal_my_crowd_payout(self, payout_id, access_token=None, **kw):
        payout_sudo = None
        if 0 < payout_id <= MAX_ID:
            try:
                payout_sudo = self._document_check_access("crowd.payout", payout_id, access_token)
            except (AccessError, MissingError):
                payout_sudo = None
        if payout_sudo is None:
            # another expert's payout and an unknown id get the same answer, which never tells
            # which ids exist: 404, or the login page when logged out without a valid token
            if request.env.user._is_public():
                raise http.SessionExpiredException("Session expired")
            raise NotFound()
        values = self._get_page_view_values(
            payout_sudo,
            access_token,
            {"payout": payout_sudo, "page_name": "crowd_payout"},
            "my_crowd_payouts_history",
            False,
        )
        return request.render("crowd_service_payout.portal_my_crowd_payout", values)
