from odoo import api, models


class CrowdDispatchOffer(models.Model):
    _inherit = "crowd.dispatch.offer"

    @api.model_create_multi
    def create(self, vals_list):
        offers = super().create(vals_list)
        # The expected pay is asked before the offer exists; once it does, its distance gives
        # the travel allowance of the package (only packages with an allowance change anything).
        Package = self.env["crowd.service.package"].sudo()  # sudo: rates are needed for the expert's offer
        with_distance = offers.filtered("distance_km")
        if with_distance and Package.search_count([("travel_per_km", ">", 0)], limit=1):
            for offer in with_distance:
                pay = offer.job_id._crowd_expected_pay(offer.expert_id)
                if offer.currency_id.compare_amounts(pay, offer.expected_pay):
                    offer.sudo().expected_pay = pay  # sudo: a computed figure on a read-only field
        return offers
