from odoo import fields, models


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    crowd_payout_ids = fields.One2many("crowd.payout", "request_id", string="Payouts")
    crowd_payout_count = fields.Integer(compute="_compute_crowd_payout_count", string="Payout Count")

    def _compute_crowd_payout_count(self):
        counts = dict(
            self.env["crowd.payout"]._read_group([("request_id", "in", self.ids)], ["request_id"], ["__count"])
        )
        for request in self:
            request.crowd_payout_count = counts.get(request._origin, 0)

    def _crowd_on_done(self):
        res = super()._crowd_on_done()
        self.env["crowd.payout"]._create_auto_payouts(self)
        return res

    def _crowd_expected_pay(self, expert):
        """Expected pay of ``expert`` for this request: the best package's rate (plus travel
        allowance when an offer gives the distance), in the request's company currency."""
        res = super()._crowd_expected_pay(expert)
        self.ensure_one()
        if expert.crowd_kind == "employee":
            return res  # own technicians are salaried, not paid per job
        package = self.env["crowd.service.package"].sudo()._find_best(self, expert)  # sudo: rates for offers
        if not package:
            return res
        pay = package._compute_pay(self._crowd_offer_distance(expert))["amount"]
        currency = self.company_id.currency_id or self.env.company.currency_id
        return package.currency_id._convert(
            pay, currency, self.company_id or self.env.company, fields.Date.context_today(self)
        )

    def _crowd_payout_experts(self):
        """The experts paid for this completed request: its crowd expert unless an own
        technician (employees are salaried; their cost is the internal cost per job)."""
        self.ensure_one()
        return self.crowd_expert_id.filtered(lambda expert: expert.crowd_kind != "employee")

    def _crowd_offer_distance(self, expert):
        """Distance (km) of ``expert``'s offer for this request, preferring an accepted one."""
        self.ensure_one()
        offers = self.sudo().crowd_offer_ids.filtered(lambda o: o.expert_id == expert)  # sudo: distance only
        if not offers:
            return 0.0
        if "state" in offers._fields:
            accepted = offers.filtered(lambda o: o.state == "accepted")
            offers = accepted or offers
        return offers[-1].distance_km or 0.0

    def _crowd_ceiling_currency(self):
        self.ensure_one()
        fname = self._fields["crowd_cost_ceiling"].get_currency_field(self)
        return (fname and self[fname]) or self.company_id.currency_id or self.env.company.currency_id

    def action_view_crowd_payouts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_payout")
        action["domain"] = [("request_id", "=", self.id)]
        action["context"] = {"default_request_id": self.id, "default_expert_id": self.crowd_expert_id.id}
        return action
