"""The crowd tiles of the portal home (/my): who the user is for the crowd, and which core tiles mean nothing to them.

Odoo's portal home hides a tile whose count is 0 (``portal.portal_docs_entry`` starts hidden and the counters
RPC reveals it). The crowd tiles are entry points (an expert with no pending offer still needs the online switch),
so they are rendered by the server, always, with their count. Each addon adds its tiles:

- values: override ``_crowd_home_values`` (call super, add the tile's count);
- markup: one template per tile, inserted into ``div#portal_crowd_category`` of
  ``crowd_service.portal_my_home_crowd`` (see ``crowd_service_portal.portal_my_home_crowd_tiles``).
"""

from odoo import http
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal

# Core portal counters whose tiles mean nothing to an expert who is no customer: the vendor bills of their payouts
# ("Our Invoices") are self-billed by us and followed on the payouts page.
EXPERT_HIDDEN_COUNTERS = ("bill_count",)
# Core tiles an expert sees only when they have such documents (account shows "Your Invoices" even at 0).
EXPERT_HIDDEN_WHEN_EMPTY = ("invoice_count", "overdue_invoice_count")


class CrowdPortalHome(CustomerPortal):
    @http.route()
    def home(self, **kw):
        response = super().home(**kw)
        # the portal home is rendered lazily: its values can still be completed
        if getattr(response, "qcontext", None) is not None:
            response.qcontext.update(self._crowd_home_values())
        return response

    def _crowd_home_values(self):
        """The values of the crowd tiles of the portal home; addons add their tiles' counts."""
        user = request.env.user
        # sudo: the user's own partner, whose crowd fields are for crowd staff only
        is_expert = bool(user.partner_id.sudo().is_crowd_expert)
        is_customer = self._crowd_is_customer()
        hidden = []
        if is_expert and not is_customer:
            hidden += EXPERT_HIDDEN_COUNTERS
            counts = self._prepare_home_portal_values(list(EXPERT_HIDDEN_WHEN_EMPTY))
            hidden += [name for name in EXPERT_HIDDEN_WHEN_EMPTY if name in counts and not counts[name]]
        return {
            "crowd_home": is_expert or is_customer,
            "crowd_is_expert": is_expert,
            "crowd_is_customer": is_customer,
            "crowd_hidden_counters": hidden,
        }

    def _crowd_is_customer(self):
        """The user's company has equipment serviced by the crowd (as far as the user may read it)."""
        Equipment = request.env["maintenance.equipment"]
        if not Equipment.has_access("read"):
            return False
        customer = request.env.user.commercial_partner_id
        return bool(Equipment.search_count([("crowd_customer_id", "=", customer.id)], limit=1))
