from odoo import api, fields, models

from .maintenance_request import CHARGE_READERS, PAYOUT_READERS


class CrowdJob(models.Model):
    _inherit = "crowd.job"

    payout_ids = fields.One2many(
        "crowd.payout",
        "job_id",
        string="Payouts",
        groups=PAYOUT_READERS,
    )
    payout_count = fields.Integer(
        compute="_compute_payout_count",
        string="Payout Count",
        groups=PAYOUT_READERS,
    )

    charge_ids = fields.One2many("crowd.customer.charge", "job_id", string="Customer Charge", groups=CHARGE_READERS)
    charge_count = fields.Integer(
        compute="_compute_charge_count", string="Customer Charge Count", groups=CHARGE_READERS
    )

    @api.depends("payout_ids")
    def _compute_payout_count(self):
        for job in self:
            job.payout_count = len(job.payout_ids)

    @api.depends("charge_ids")
    def _compute_charge_count(self):
        for job in self:
            job.charge_count = len(job.charge_ids)

    def _crowd_on_done(self):
        res = super()._crowd_on_done()
        self.env["crowd.payout"]._create_auto_payouts(self)
        # after the payout: the customer price comes from the payout's package
        self.env["crowd.customer.charge"]._create_for_jobs(self)
        return res

    def _crowd_expected_pay(self, expert):
        """Expected pay of ``expert`` for this job: the best package's rate (plus the travel
        allowance when an offer gives the distance), in the job's company currency."""
        res = super()._crowd_expected_pay(expert)
        self.ensure_one()
        if expert.crowd_kind == "employee":
            return res  # own technicians are salaried, not paid per job
        package = self.env["crowd.service.package"].sudo()._find_best(self, expert)  # sudo: rates for offers
        if not package:
            return res
        pay = package._compute_pay(self._crowd_offer_distance(expert))["amount"]
        company = self.company_id or self.env.company
        return package.currency_id._convert(pay, company.currency_id, company, fields.Date.context_today(self))

    def _crowd_offer_distance(self, expert):
        """Distance (km) of ``expert``'s offer for this job, preferring an accepted one."""
        self.ensure_one()
        offers = self.sudo().offer_ids.filtered(lambda o: o.expert_id == expert)  # sudo: the distance only
        offers = offers.filtered(lambda o: o.state == "accepted") or offers
        return offers[-1:].distance_km or 0.0

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("job_id", "=", self.id)]
        action["context"] = {"default_job_id": self.id}
        return action

    def action_view_crowd_charges(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_customer_charge")
        action["domain"] = [("job_id", "=", self.id)]
        action["context"] = {}
        return action
