# pylint: disable=consider-merging-classes-inherited
# (dispatch extension kept apart from the expert-pool file on purpose: one feature per file)
from odoo import fields, models
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

    def _compute_crowd_kpis(self):
        experts = self.filtered("id")
        Offer = self.env["crowd.dispatch.offer"].sudo()
        Job = self.env["crowd.job"].sudo()
        offers = {}
        for expert, state, count in Offer._read_group(
            [("expert_id", "in", experts.ids)], ["expert_id", "state"], ["__count"]
        ):
            offers.setdefault(expert.id, {})[state] = count
        visits = {}
        for expert, sla_met, count in Job._read_group(
            [("expert_id", "in", experts.ids), ("on_site_at", "!=", False)], ["expert_id", "sla_met"], ["__count"]
        ):
            visits.setdefault(expert.id, {})[sla_met] = count
        done = dict(
            Job._read_group([("expert_id", "in", experts.ids), ("state", "=", "done")], ["expert_id"], ["__count"])
        )
        escalated = dict(
            Job._read_group(
                [("expert_id", "in", experts.ids), ("state", "=", "done"), ("followup_ids", "!=", False)],
                ["expert_id"],
                ["__count"],
            )
        )
        done = {p.id: c for p, c in done.items()}
        escalated = {p.id: c for p, c in escalated.items()}
        for partner in self:
            counts = offers.get(partner.id, {})
            answered = sum(counts.get(s, 0) for s in ("accepted", "declined", "expired"))
            partner.crowd_kpi_offer_count = sum(counts.values())
            partner.crowd_kpi_acceptance_rate = 100.0 * counts.get("accepted", 0) / answered if answered else 0.0
            on_site = visits.get(partner.id, {})
            total = sum(on_site.values())
            partner.crowd_kpi_on_time_rate = 100.0 * on_site.get(True, 0) / total if total else 0.0
            jobs = done.get(partner.id, 0)
            partner.crowd_kpi_jobs_done = jobs
            partner.crowd_kpi_first_time_fix_rate = (
                100.0 * (jobs - escalated.get(partner.id, 0)) / jobs if jobs else 0.0
            )
            partner.crowd_kpi_avg_rating = partner.crowd_rating

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
