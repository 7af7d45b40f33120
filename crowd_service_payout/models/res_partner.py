from odoo import api, fields, models

from .maintenance_request import PAYOUT_READERS


class ResPartner(models.Model):
    _inherit = "res.partner"

    # groups: reading a partner must not fail for internal users without rights on payouts
    crowd_payout_ids = fields.One2many("crowd.payout", "expert_id", string="Crowd Payouts", groups=PAYOUT_READERS)
    crowd_payout_count = fields.Integer(
        compute="_compute_crowd_payout_count", string="Payout Count", groups=PAYOUT_READERS
    )

    crowd_kpi_earnings = fields.Monetary(
        "Earnings",
        compute="_compute_crowd_kpi_earnings",
        currency_field="crowd_kpi_currency_id",
        groups=PAYOUT_READERS,
        help="Payouts approved, billed or paid (company currency); a company's add up its technicians'.",
    )
    crowd_kpi_currency_id = fields.Many2one(
        "res.currency", compute="_compute_crowd_kpi_earnings", groups=PAYOUT_READERS
    )

    @api.model
    def _crowd_earnings(self, expert_ids):
        """Sum of the payouts approved, billed or paid of ``expert_ids`` in the current company's currency."""
        # sudo: figures for a scorecard whose reader was checked by the caller
        Payout = self.env["crowd.payout"].sudo()
        groups = Payout._read_group(
            [("expert_id", "in", expert_ids), ("state", "in", ("approved", "billed", "paid"))],
            ["company_id"],
            ["amount_company:sum"],
        )
        currency = self.env.company.currency_id
        total = 0.0
        for company, amount in groups:
            total += company.currency_id._convert(amount, currency, self.env.company, fields.Date.context_today(self))
        return currency.round(total)

    def _compute_crowd_kpi_earnings(self):
        for partner in self:
            partner.crowd_kpi_currency_id = self.env.company.currency_id
            experts = partner._crowd_scorecard_experts() if partner.id else partner.browse()
            partner.crowd_kpi_earnings = self._crowd_earnings(experts.ids) if experts else 0.0

    def _crowd_scorecard(self):
        card = super()._crowd_scorecard()
        card["earnings"] = self._crowd_earnings(card["experts"].ids) if card["experts"] else 0.0
        card["currency"] = self.env.company.currency_id
        return card

    # groups: a cost figure of the crowd's own technicians, set by who manages the experts
    crowd_hourly_cost = fields.Float(
        string="Hourly Cost",
        groups="crowd_service.group_crowd_user",
        help="Cost of an hour on site of this own technician, for the margin report (default: the company's).",
    )

    _sql_constraints = [
        ("crowd_hourly_cost_positive", "CHECK(crowd_hourly_cost >= 0)", "The hourly cost cannot be negative."),
    ]

    def _compute_crowd_payout_count(self):
        counts = dict(self.env["crowd.payout"]._read_group([("expert_id", "in", self.ids)], ["expert_id"], ["__count"]))
        for partner in self:
            partner.crowd_payout_count = counts.get(partner._origin, 0)

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("expert_id", "=", self.id)]
        action["context"] = {"default_expert_id": self.id}
        return action
