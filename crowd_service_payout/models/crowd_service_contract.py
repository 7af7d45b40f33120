from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CrowdServiceContract(models.Model):
    """A customer's service contract: the visits of the covered packages on an equipment (or on
    every equipment of a category) between two dates, both included, are not charged."""

    _name = "crowd.service.contract"
    _description = "Crowd Service Contract"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date_start desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Reference", required=True, tracking=True)
    active = fields.Boolean(default=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        domain=[("is_company", "=", True)],
        help="The customer invoiced for the visits; the contract covers the visits of this company and its contacts.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    equipment_id = fields.Many2one(
        "maintenance.equipment", string="Equipment", check_company=True, tracking=True, index="btree_not_null"
    )
    equipment_category_id = fields.Many2one(
        "maintenance.equipment.category",
        string="Equipment Category",
        check_company=True,
        tracking=True,
        help="Covers every equipment of this category (when no equipment is set).",
    )
    package_ids = fields.Many2many(
        "crowd.service.package",
        "crowd_service_contract_package_rel",
        "contract_id",
        "package_id",
        string="Covered Packages",
        check_company=True,
        help="Visits of these service packages are covered; leave empty to cover every package.",
    )
    date_start = fields.Date(string="Start Date", required=True, tracking=True, default=fields.Date.context_today)
    date_end = fields.Date(string="End Date", required=True, tracking=True, help="Last day covered (included).")
    note = fields.Html()
    charge_ids = fields.One2many("crowd.customer.charge", "contract_id", string="Covered Visits", readonly=True)
    charge_count = fields.Integer(compute="_compute_charge_count", string="Covered Visit Count")

    def _compute_charge_count(self):
        counts = dict(
            self.env["crowd.customer.charge"]._read_group(
                [("contract_id", "in", self.ids)], ["contract_id"], ["__count"]
            )
        )
        for contract in self:
            contract.charge_count = counts.get(contract._origin, 0)

    @api.constrains("date_start", "date_end", "equipment_id", "equipment_category_id")
    def _check_scope(self):
        for contract in self:
            if contract.date_start and contract.date_end and contract.date_end < contract.date_start:
                raise ValidationError(self.env._("Contract %(name)s cannot end before it starts.", name=contract.name))
            if not (contract.equipment_id or contract.equipment_category_id):
                raise ValidationError(
                    self.env._(
                        "Contract %(name)s must cover an equipment or an equipment category.", name=contract.name
                    )
                )

    @api.constrains("partner_id", "equipment_id")
    def _check_equipment_owner(self):
        """A contract on an equipment is one of the equipment's customer: another customer's
        contract would never cover its visits (they are invoiced to the owner)."""
        for contract in self:
            owner = contract.equipment_id.sudo().crowd_customer_id.commercial_partner_id  # sudo: compared only
            if owner and owner != contract.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "Contract %(name)s: equipment %(equipment)s belongs to %(owner)s, not to %(customer)s.",
                        name=contract.name,
                        equipment=contract.equipment_id.sudo().display_name,
                        owner=owner.display_name,
                        customer=contract.partner_id.display_name,
                    )
                )

    @api.onchange("equipment_id")
    def _onchange_equipment_id(self):
        if self.equipment_id.crowd_customer_id and not self.partner_id:
            self.partner_id = self.equipment_id.crowd_customer_id.commercial_partner_id

    @api.model
    def _find_covering(self, customer, job, package, date):
        """The contract covering ``job`` (its equipment or the equipment's category) of ``customer``
        for ``package`` on ``date`` (start and end days included), or an empty recordset. A contract on
        the equipment itself wins over one on its category."""
        equipment = job.equipment_id
        categories = equipment.category_id | job.request_id.category_id
        if not customer or not (equipment or categories):
            return self.browse()
        scope = ["&", ("equipment_id", "=", False), ("equipment_category_id", "in", categories.ids)]
        if equipment:
            scope = ["|", ("equipment_id", "=", equipment.id), *scope]
        domain = [
            ("partner_id", "=", customer.commercial_partner_id.id),
            ("company_id", "=", job.company_id.id),
            ("date_start", "<=", date),
            ("date_end", ">=", date),
            *scope,
        ]
        contracts = self.search(domain, order="date_start, id").filtered(
            lambda c: not c.package_ids or package in c.package_ids
        )
        return (contracts.filtered("equipment_id") or contracts)[:1]

    def action_view_charges(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service_payout.action_crowd_customer_charge")
        action["domain"] = [("contract_id", "=", self.id)]
        action["context"] = {}
        return action
