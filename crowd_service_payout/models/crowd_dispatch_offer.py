from odoo import api, models


class CrowdDispatchOffer(models.Model):
    _inherit = "crowd.dispatch.offer"

    @api.model_create_multi
    def create(self, vals_list):
        offers = super().create(vals_list)
        # The dispatch gives each offer its pay (crowd.job._crowd_offer_pay_vals, with its distance and
        # round); an offer made otherwise (by a crowd manager) gets it here, from its distance.
        for offer, vals in zip(offers, vals_list, strict=True):
            if "pay_multiplier" in vals or offer.expert_id.crowd_kind == "employee":
                continue
            quote = offer.job_id._crowd_pay_quote(offer.expert_id, offer.distance_km, at=offer.sent_at or None)
            if quote:
                # sudo: computed figures on read-only fields
                offer.sudo().write(
                    {
                        "expected_pay": quote["amount_company"],
                        "pay_multiplier": quote["multiplier"],
                        "pay_lines": quote["lines"] or False,
                    }
                )
        return offers
