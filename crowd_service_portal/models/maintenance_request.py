from odoo import models
from odoo.exceptions import UserError, ValidationError


class MaintenanceRequest(models.Model):
    _name = "maintenance.request"
    _inherit = ["maintenance.request", "rating.mixin"]

    def _rating_get_operator(self):
        """The rated person is the expert who did the visit."""
        return self.crowd_expert_id or super()._rating_get_operator()

    def _rating_get_partner(self):
        """The customer who rates is the equipment's owner."""
        return self.equipment_id.crowd_customer_id or super()._rating_get_partner()

    def rating_apply(self, rate, token=None, rating=None, feedback=None, subtype_xmlid=None, notify_delay_send=False):
        """Every applied rating (portal form or e-mail token link) feeds the expert's score."""
        result = super().rating_apply(
            rate, token=token, rating=rating, feedback=feedback, subtype_xmlid=subtype_xmlid,
            notify_delay_send=notify_delay_send,
        )  # fmt: skip
        result.sudo().rated_partner_id._crowd_update_rating()
        return result

    def _crowd_rate(self, rate, feedback, partner):
        """The customer's rating of a completed visit: 1 to 5, once per customer and request."""
        self.ensure_one()
        if self.crowd_dispatch_state != "done" or not self.crowd_expert_id:
            raise UserError(self.env._("You can rate the visit once it is completed."))
        if not isinstance(rate, int) or not 1 <= rate <= 5:
            raise ValidationError(self.env._("A rating is a whole number from 1 to 5."))
        done = self.rating_ids.sudo().filtered(lambda r: r.consumed and r.partner_id == partner)
        if done:
            raise UserError(self.env._("You have already rated this visit."))
        token = self._rating_get_access_token(partner)
        return self.rating_apply(rate, token=token, feedback=(feedback or "")[:2000])
