# pylint: disable=consider-merging-classes-inherited
# (the phone's live tracking kept apart on purpose: one feature per file)
import json

from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _crowd_live_state_json(self):
        """What the expert's phone needs to send its position: the consent, online, the jobs on the way
        (JSON for the page's script; only the user's own partner)."""
        self.ensure_one()
        if self != self.env.user.partner_id:
            return "null"
        # sudo: the user's own expert profile and jobs
        partner = self.sudo()
        if not partner.is_crowd_expert:
            return "null"
        jobs = self.env["crowd.job"].sudo().search([("expert_id", "=", self.id), ("state", "=", "en_route")])
        return json.dumps({"consent": partner.crowd_location_consent, "online": partner.crowd_online, "jobs": jobs.ids})
