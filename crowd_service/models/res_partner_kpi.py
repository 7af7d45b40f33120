# pylint: disable=consider-merging-classes-inherited
# (dispatch extension kept apart from the expert-pool file on purpose: one feature per file)
from odoo import api, fields, models
from odoo.exceptions import AccessError


class ResPartner(models.Model):
    _inherit = "res.partner"

    crowd_offer_ids = fields.One2many(
        "crowd.dispatch.offer", "expert_id", string="Crowd Offers", groups="crowd_service.group_crowd_user"
    )
    crowd_job_ids = fields.One2many(
        "crowd.job", "expert_id", string="Crowd Jobs", groups="crowd_service.group_crowd_user"
    )
    crowd_kpi_offer_count = fields.Integer("Offers Received", compute="_compute_crowd_kpis")
    crowd_kpi_acceptance_rate = fields.Float(
        "Acceptance Rate (%)", compute="_compute_crowd_kpis", help="Accepted / answered or expired offers."
    )
    crowd_kpi_jobs_done = fields.Integer("Jobs Done", compute="_compute_crowd_kpis")
    crowd_kpi_on_time_rate = fields.Float(
        "On-time Rate (%)", compute="_compute_crowd_kpis", help="Visits on site before the SLA deadline."
    )
    crowd_kpi_first_time_fix_rate = fields.Float(
        "First-time Fix Rate (%)",
        compute="_compute_crowd_kpis",
        help="Jobs done without a follow-up escalation to a specialist.",
    )
    crowd_kpi_avg_rating = fields.Float("Average Rating", compute="_compute_crowd_kpis")
    crowd_kpi_technician_count = fields.Integer(
        "Technicians",
        compute="_compute_crowd_kpis",
        help="A partner company's scorecard adds up its technicians (experts whose parent is the company).",
    )

    def init(self):
        # a public name, so callable over RPC: only the registry (as superuser) runs schema hooks
        if not self.env.su:
            raise AccessError(self.env._("Schema hooks run at install and update only."))
        res = super().init()
        # the dispatch prefilter (engine_adapter._candidate_rows) scans active online experts by position
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS res_partner_crowd_pool_position_idx
                   ON res_partner (partner_latitude, partner_longitude)
                WHERE is_crowd_expert AND crowd_state = 'active' AND active"""
        )
        return res

    def _crowd_scorecard_experts(self):
        """The experts a scorecard adds up: the expert, or a partner company's technicians (experts whose
        parent is the company). Read as the system: the caller checked who may see the scorecard."""
        self.ensure_one()
        if not self.id:
            return self.browse()
        partner = self.sudo().with_context(active_test=False)
        if partner.is_crowd_expert:
            return partner
        if partner.is_company:
            return partner.search([("parent_id", "=", partner.id), ("is_crowd_expert", "=", True)])
        return self.browse()

    @api.model
    def _crowd_kpi_counts(self, expert_ids):
        """Per expert id: offers by state, visits on site (on time or not), jobs done, jobs done with a
        specialist follow-up, and ratings (count, sum). Five grouped queries, whatever the number of experts."""
        Offer = self.env["crowd.dispatch.offer"].sudo()
        Job = self.env["crowd.job"].sudo()
        counts = {pid: {"offers": {}, "on_site": {}, "done": 0, "escalated": 0, "ratings": 0, "rating_sum": 0.0}
                  for pid in expert_ids}  # fmt: skip
        if not expert_ids:
            return counts
        for expert, state, count in Offer._read_group(
            [("expert_id", "in", expert_ids)], ["expert_id", "state"], ["__count"]
        ):
            counts[expert.id]["offers"][state] = count
        for expert, sla_met, count in Job._read_group(
            [("expert_id", "in", expert_ids), ("on_site_at", "!=", False)], ["expert_id", "sla_met"], ["__count"]
        ):
            counts[expert.id]["on_site"][sla_met] = count
        for expert, count in Job._read_group(
            [("expert_id", "in", expert_ids), ("state", "=", "done")], ["expert_id"], ["__count"]
        ):
            counts[expert.id]["done"] = count
        for expert, count in Job._read_group(
            [("expert_id", "in", expert_ids), ("state", "=", "done"), ("followup_ids", "!=", False)],
            ["expert_id"],
            ["__count"],
        ):
            counts[expert.id]["escalated"] = count
        for partner, count, total in (
            self.env["rating.rating"]
            .sudo()
            ._read_group(
                [
                    ("rated_partner_id", "in", expert_ids),
                    ("consumed", "=", True),
                    ("rating", ">=", 1),
                    ("res_model", "=", "crowd.job"),
                ],
                ["rated_partner_id"],
                ["__count", "rating:sum"],
            )
        ):
            counts[partner.id]["ratings"], counts[partner.id]["rating_sum"] = count, total
        return counts

    @api.model
    def _crowd_scorecard_figures(self, counts):
        """The scorecard of the experts whose counts are given (one expert, or a company's technicians)."""
        offers, on_site = {}, {}
        done = escalated = ratings = 0
        rating_sum = 0.0
        for c in counts:
            for state, count in c["offers"].items():
                offers[state] = offers.get(state, 0) + count
            for met, count in c["on_site"].items():
                on_site[met] = on_site.get(met, 0) + count
            done += c["done"]
            escalated += c["escalated"]
            ratings += c["ratings"]
            rating_sum += c["rating_sum"]
        answered = sum(offers.get(s, 0) for s in ("accepted", "declined", "expired"))
        visits = sum(on_site.values())
        return {
            "offers": sum(offers.values()),
            "acceptance_rate": 100.0 * offers.get("accepted", 0) / answered if answered else 0.0,
            "on_time_rate": 100.0 * on_site.get(True, 0) / visits if visits else 0.0,
            "jobs_done": done,
            "first_time_fix_rate": 100.0 * (done - escalated) / done if done else 0.0,
            "avg_rating": round(rating_sum / ratings, 2) if ratings else 0.0,
            "ratings": ratings,
        }

    def _crowd_scorecard(self):
        """The scorecard of this expert or partner company, as a dict (see _crowd_scorecard_figures; the
        payout addon adds the earnings). The caller checks who may see it."""
        self.ensure_one()
        experts = self._crowd_scorecard_experts()
        counts = self._crowd_kpi_counts(experts.ids)
        card = self._crowd_scorecard_figures(counts.values())
        card["technicians"] = len(experts) if not self.sudo().is_crowd_expert else 0
        card["experts"] = experts
        return card

    def _crowd_scorecard_visible_to(self, user):
        """Whether ``user`` may see this scorecard in the portal: their own, or, for the user of a partner
        company, the company's and its technicians'. Crowd dispatchers see every scorecard."""
        self.ensure_one()
        if user.has_group("crowd_service.group_crowd_user"):
            return True
        own = user.partner_id
        if self == own:
            return bool(self._crowd_scorecard_experts())
        return bool(own.is_company and self.sudo().parent_id == own and self.sudo().is_crowd_expert)

    def _compute_crowd_kpis(self):
        partners = self.filtered("id")
        experts = {partner.id: partner._crowd_scorecard_experts() for partner in partners}
        all_ids = list({pid for group in experts.values() for pid in group.ids})
        counts = self._crowd_kpi_counts(all_ids)
        for partner in self:
            group = experts.get(partner.id, self.browse())
            card = self._crowd_scorecard_figures([counts[pid] for pid in group.ids])
            partner.crowd_kpi_offer_count = card["offers"]
            partner.crowd_kpi_acceptance_rate = card["acceptance_rate"]
            partner.crowd_kpi_on_time_rate = card["on_time_rate"]
            partner.crowd_kpi_jobs_done = card["jobs_done"]
            partner.crowd_kpi_first_time_fix_rate = card["first_time_fix_rate"]
            # an expert's rating is the stored average of their ratings; a company's, that of its technicians
            partner.crowd_kpi_avg_rating = partner.crowd_rating if partner.is_crowd_expert else card["avg_rating"]
            partner.crowd_kpi_technician_count = len(group) if not partner.is_crowd_expert else 0

    def action_view_crowd_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service.action_crowd_job")
        action["domain"] = [("expert_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    def action_view_crowd_offers(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Offers"),
            "res_model": "crowd.dispatch.offer",
            "view_mode": "list,form",
            "domain": [("expert_id", "=", self.id)],
        }

    def _crowd_update_rating(self):
        """An expert's rating is the average of the customers' ratings of their visits (jobs)."""
        experts = self.filtered("is_crowd_expert")
        if not experts:
            return
        groups = (
            self.env["rating.rating"]
            .sudo()
            ._read_group(
                [
                    ("rated_partner_id", "in", experts.ids),
                    ("consumed", "=", True),
                    ("rating", ">=", 1),
                    ("res_model", "=", "crowd.job"),
                ],
                ["rated_partner_id"],
                ["rating:avg"],
            )
        )
        for partner, average in groups:
            # sudo: the rating is written by the system from the customers' ratings
            partner.sudo().crowd_rating = round(average, 2)
