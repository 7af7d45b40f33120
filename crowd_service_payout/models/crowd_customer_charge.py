import logging

from psycopg2 import errors as pg_errors

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError

from .crowd_move_source import CRON_CHUNK

_logger = logging.getLogger(__name__)

BILLING_GROUP = "account.group_account_invoice"
COVERAGES = [("none", "Charged"), ("warranty", "Warranty"), ("contract", "Service Contract")]
# What the customer is charged, and why: frozen once the visit is on an invoice.
FROZEN_FIELDS = {
    "name",
    "job_id",
    "partner_id",
    "company_id",
    "currency_id",
    "package_id",
    "product_id",
    "pricelist_id",
    "date",
    "price_unit",
    "amount",
    "coverage",
    "contract_id",
}
# The workflow: written only by the invoicing and the invoice's hooks, through _write_workflow().
WORKFLOW_FIELDS = frozenset({"state", "move_line_id"})


class CrowdCustomerCharge(models.Model):
    """What the customer is invoiced for one completed visit (``crowd.job``): the price of the
    visit's service package, or nothing when the equipment's warranty or a service contract
    covers it (the reason is on the charge and on the invoice line)."""

    _name = "crowd.customer.charge"
    _description = "Crowd Visit to Invoice"
    _inherit = ["crowd.move.source", "mail.thread"]
    _order = "date desc, id desc"
    _check_company_auto = True
    _workflow_fields = WORKFLOW_FIELDS
    _move_type = "out_invoice"
    _move_ready_state = "to_invoice"
    _move_done_state = "invoiced"
    _move_partner_field = "partner_id"
    _move_origin_field = "crowd_charge_origin_ids"
    _move_auto_post_field = "crowd_invoice_auto_post"

    name = fields.Char(string="Reference", readonly=True, copy=False, default="/", index="trigram")
    job_id = fields.Many2one(
        "crowd.job",
        string="Visit",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        help="The completed visit invoiced by this line (one per visit).",
    )
    request_id = fields.Many2one(related="job_id.request_id", store=True, index=True, string="Request")
    equipment_id = fields.Many2one(related="job_id.equipment_id", store=True, string="Equipment")
    expert_id = fields.Many2one(related="job_id.expert_id", string="Expert")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True, ondelete="restrict"
    )
    company_id = fields.Many2one(
        compute="_compute_company_id", store=True, readonly=False, precompute=True, tracking=True
    )
    currency_id = fields.Many2one(tracking=True, default=lambda self: self.env.company.currency_id)
    package_id = fields.Many2one(
        "crowd.service.package", string="Service Package", check_company=True, tracking=True, ondelete="restrict"
    )
    product_id = fields.Many2one(
        "product.product",
        string="Product",
        required=True,
        check_company=True,
        ondelete="restrict",
        domain="[('type', '=', 'service'), ('sale_ok', '=', True)]",
        help="The invoice line's product: its income account and customer taxes.",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist", string="Pricelist", readonly=True, help="The customer's pricelist that gave the price."
    )
    price_unit = fields.Monetary(string="Price", tracking=True, help="Price of the visit, before any coverage.")
    coverage = fields.Selection(COVERAGES, required=True, default="none", tracking=True)
    contract_id = fields.Many2one(
        "crowd.service.contract", string="Service Contract", check_company=True, tracking=True, ondelete="restrict"
    )
    no_charge_reason = fields.Char(
        string="No Charge Because", compute="_compute_no_charge_reason", store=True, help="Why nothing is charged."
    )
    amount = fields.Monetary(
        string="Charged", compute="_compute_amount", store=True, readonly=False, precompute=True, tracking=True
    )
    date = fields.Date(string="Visit Date", tracking=True)
    state = fields.Selection(
        [("to_invoice", "To Invoice"), ("invoiced", "Invoiced"), ("paid", "Paid")],
        default="to_invoice",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    move_line_id = fields.Many2one(string="Invoice Line")
    move_id = fields.Many2one(string="Invoice")

    _sql_constraints = [
        ("job_uniq", "UNIQUE(job_id)", "A visit is invoiced once: it has one customer charge."),
        (
            "amounts_positive",
            "CHECK(amount >= 0 AND COALESCE(price_unit, 0) >= 0)",
            "The price of a visit cannot be negative.",
        ),
        (
            "covered_free",
            "CHECK(coverage = 'none' OR amount = 0)",
            "A visit covered by a warranty or a contract is not charged.",
        ),
    ]

    # ------------------------------------------------------------------ computes
    @api.depends("job_id")
    def _compute_company_id(self):
        for charge in self:
            charge.company_id = charge.job_id.company_id or charge.company_id or self.env.company

    @api.depends("price_unit", "coverage")
    def _compute_amount(self):
        for charge in self:
            charge.amount = 0.0 if charge.coverage != "none" else charge.price_unit

    @api.depends("coverage", "contract_id")
    def _compute_no_charge_reason(self):
        for charge in self:
            if charge.coverage == "warranty":
                charge.no_charge_reason = self.env._(
                    "Under warranty until %(date)s", date=fields.Date.to_string(charge.equipment_id.warranty_date)
                )
            elif charge.coverage == "contract":
                charge.no_charge_reason = self.env._(
                    "Covered by service contract %(contract)s", contract=charge.contract_id.name
                )
            else:
                charge.no_charge_reason = False

    # ------------------------------------------------------------------ constraints
    @api.constrains("job_id", "company_id", "partner_id")
    def _check_job(self):
        for charge in self:
            job = charge.job_id.sudo()  # sudo: compared only
            if job.company_id != charge.company_id:
                raise ValidationError(
                    self.env._(
                        "Visit %(job)s belongs to %(company)s: it is invoiced by that company only.",
                        job=job.display_name,
                        company=job.company_id.name,
                    )
                )
            if job.state != "done":
                raise ValidationError(self.env._("Only completed visits are invoiced (%(job)s).", job=job.display_name))

    @api.constrains("coverage", "contract_id")
    def _check_coverage(self):
        for charge in self:
            if (charge.coverage == "contract") != bool(charge.contract_id):
                raise ValidationError(
                    self.env._("%(name)s: a visit covered by a contract names the contract.", name=charge.display_name)
                )
            if charge.contract_id and charge.contract_id.partner_id != charge.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "%(name)s: contract %(contract)s is not one of %(customer)s.",
                        name=charge.display_name,
                        contract=charge.contract_id.name,
                        customer=charge.partner_id.display_name,
                    )
                )

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_workflow_vals({k: v for k, v in vals.items() if v and (k, v) != ("state", "to_invoice")})
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("crowd.customer.charge") or "/"
        return super().create(vals_list)

    def write(self, vals):
        self._check_workflow_vals(vals)
        frozen = FROZEN_FIELDS.intersection(vals)
        locked = self.filtered(lambda c: c.state != "to_invoice")
        if frozen and locked:
            raise UserError(
                self.env._(
                    "%(names)s: once invoiced, a visit's %(fields)s cannot change (a credit note releases it).",
                    names=", ".join(locked.mapped("name")),
                    fields=", ".join(sorted(self._fields[f].string for f in frozen)),
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_invoiced(self):
        if any(c.state != "to_invoice" for c in self):
            raise UserError(self.env._("Invoiced visits cannot be deleted: a credit note releases them first."))

    # ------------------------------------------------------------------ creation at completion
    @api.model
    def _create_for_jobs(self, jobs):
        """The customer charge of each done job that has a customer and a package with a customer
        product; idempotent (one per job, by a unique constraint, even when two completions race).

        The completing user has no right on charges; the completion was checked by its caller, so
        the charge is created as superuser."""
        Charge = self.sudo()
        done = jobs.sudo().filtered(lambda j: j.state == "done")
        charged = Charge.search([("job_id", "in", done.ids)]).job_id
        vals_list = [vals for vals in (Charge._prepare_charge(job) for job in done - charged) if vals]
        try:
            # all at once; a concurrent completion of one of them: one by one below
            with self.env.cr.savepoint(), tools.mute_logger("odoo.sql_db"):
                return Charge.create(vals_list).with_env(self.env)
        except pg_errors.UniqueViolation:
            _logger.info("Some of jobs %s already have their customer charge (concurrent completion)", done.ids)
        charges = Charge.browse()
        for vals in vals_list:
            try:
                with self.env.cr.savepoint(), tools.mute_logger("odoo.sql_db"):
                    charges |= Charge.create([vals])
            except pg_errors.UniqueViolation:
                _logger.info("Job %s already has its customer charge (concurrent completion)", vals["job_id"])
        return charges.with_env(self.env)

    @api.model
    def _prepare_charge(self, job):
        """Values of the charge of ``job``: the customer, the package's price (from the customer's
        pricelist when the package says so) and the coverage; None when there is nobody or nothing
        to invoice (no customer, no package with a customer product)."""
        # sudo: a system computation (callers checked their rights): the job, its payout, the packages
        # and contracts are read whatever the completing or billing user may read
        job = job.sudo()
        customer = (job.customer_id or job._crowd_customer()).commercial_partner_id
        package = job.payout_ids[:1].package_id or job.env["crowd.service.package"]._find_best(job, job.expert_id)
        product = package.customer_product_id
        if not customer or not product:
            return None
        company = job.company_id
        date = fields.Date.context_today(self, job.done_at or fields.Datetime.now())
        price, currency, pricelist = package._customer_price(customer, date, company)
        coverage, contract = self.sudo()._coverage(job, customer, package, date)
        return {
            "job_id": job.id,
            "company_id": company.id,
            "partner_id": customer.id,
            "package_id": package.id,
            "product_id": product.id,
            "pricelist_id": pricelist.id,
            "currency_id": currency.id,
            "price_unit": price,
            "coverage": coverage,
            "contract_id": contract.id,
            "date": date,
        }

    @api.model
    def _coverage(self, job, customer, package, date):
        """Why the visit of ``job`` on ``date`` is not charged: ("warranty", no contract) when the
        equipment is under warranty, the warranty_date day itself included; ("contract", contract)
        when a service contract covers it; else ("none", no contract)."""
        Contract = self.env["crowd.service.contract"]
        warranty = job.equipment_id.warranty_date
        if warranty and date <= warranty:
            return "warranty", Contract
        contract = Contract._find_covering(customer, job, package, date)
        return ("contract", contract) if contract else ("none", Contract)

    # ------------------------------------------------------------------ invoicing (crowd.move.source)
    def _is_billing_user(self):
        return self.env.user.has_group(BILLING_GROUP)

    def _check_move_rights(self):
        if not self._is_billing_user():
            raise AccessError(self.env._("Only billing users (Invoicing) can invoice crowd visits."))

    def _move_journal(self, company):
        return self._find_journal(company, company.crowd_invoice_journal_id, "sale")

    def _prepare_move(self, journal):
        """Values of the customer invoice of these visits (one company, customer, currency and
        month), as sale's _prepare_invoice: fiscal position, payment terms and taxes come from the
        customer and the products through account.move."""
        if self.company_id != journal.company_id:
            raise UserError(self.env._("A visit is invoiced by the company of its job only."))
        return self._prepare_move_common(journal, self.env._("Crowd visits"))

    def _line_analytic(self):
        self.ensure_one()
        return self.job_id.equipment_id.crowd_analytic_account_id or self.company_id.crowd_payout_analytic_account_id

    def _line_key(self):
        """What visits sharing an invoice line have in common: the product (so its taxes), the
        package, the price charged, the reason for no charge and the analytic account."""
        self.ensure_one()
        return (self.product_id, self.package_id, self.amount, self.no_charge_reason or "", self._line_analytic())

    def _line_groups(self):
        """Like visits share one invoice line, their number as its quantity (as a sale order
        invoices a product once per price): the invoice stays readable, and posting it costs a
        line per kind of visit, not per visit."""
        return list(self.grouped(lambda c: c._line_key()).values())

    def _prepare_account_move_line(self):
        """Invoice line of these like visits (``_line_groups``), as sale.order.line's: the product
        gives the income account and the customer taxes, the quantity is the number of visits; a
        covered visit is a line at 0 that says why. The line's label names the visits: the customer
        sees on the invoice which ones were billed."""
        charges = self.sorted(lambda c: (c.date, c.id))
        first = charges[0]
        if len(charges) == 1:
            job = first.job_id
            name = f"{job.request_id.name} – {job.name} – {fields.Date.to_string(first.date)}"
        else:
            first_day, last_day = fields.Date.to_string(first.date), fields.Date.to_string(charges[-1].date)
            name = self.env._(
                "%(what)s – %(count)s visits from %(first)s to %(last)s",
                what=first.package_id.name or first.product_id.display_name,
                count=len(charges),
                first=first_day,
                last=last_day,
            )
        if first.no_charge_reason:
            name = self.env._("%(name)s – no charge: %(reason)s", name=name, reason=first.no_charge_reason)
        if len(charges) > 1:
            name = self.env._("%(name)s\nVisits: %(jobs)s", name=name, jobs=", ".join(charges.job_id.mapped("name")))
        return charges._prepare_move_line_common(first.product_id, name, first.amount, analytic=first._line_analytic())

    @api.model
    def _release_credited_lines(self, refunds):
        """The visits of each invoice line that posted credit notes of its invoice (``refunds``)
        credit in full are released, to invoice again. A line is credited in full by a credit note
        line of the same product and label, for at least its quantity and its amount; a partial
        credit (fewer visits, a lower price) releases nothing, since it does not say which visits
        it is for: credit the whole line, then invoice again the visits still due."""
        for refund in refunds.sudo():  # sudo: the visits follow their invoice, whoever credits it
            credits = refund.invoice_line_ids.filtered(lambda line: line.display_type == "product")
            for line in refund.reversed_entry_id.invoice_line_ids.filtered("crowd_charge_ids"):
                credited = credits.filtered(
                    lambda c, line=line: c.product_id == line.product_id
                    and c.name == line.name
                    and c.currency_id == line.currency_id
                    and c.quantity >= line.quantity
                    and c.currency_id.compare_amounts(c.price_subtotal, line.price_subtotal) >= 0
                )
                if credited:
                    line.crowd_charge_ids._release_from_move()

    def _move_log_body(self):
        return self.env._("Invoice of %(count)s crowd visits.", count=len(self))

    def _release_message(self):
        return self.env._("Released from its invoice; to invoice again.")

    def _create_invoices(self, post=None):
        """Group the visits of self that are to invoice per company, customer, currency and month
        into customer invoices, one line per kind of visit (``_line_groups``), and mark them invoiced
        (see ``_create_moves``)."""
        return self._create_moves(post=post)

    @api.model
    def _cron_create_invoices(self, chunk_size=CRON_CHUNK):
        """Invoice the visits of the months that are over (see ``_cron_create_moves``)."""
        self._cron_create_moves("_create_invoices", chunk_size)

    # ------------------------------------------------------------------ actions
    def action_open_invoice(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.move_id.id,
            "view_mode": "form",
        }

    def action_open_invoice_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Invoice Visits"),
            "res_model": "crowd.customer.invoice.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": "crowd.customer.charge", "active_ids": self.ids},
        }

    def action_recompute_price(self):
        """Price and coverage again, from the package, the pricelist, the warranty and the contracts
        as they are now (to invoice only)."""
        self._check_move_rights()
        if self.filtered(lambda c: c.state != "to_invoice"):
            raise UserError(self.env._("Only visits still to invoice can be priced again."))
        for charge in self:
            vals = self._prepare_charge(charge.job_id)
            if vals:
                charge.write({k: v for k, v in vals.items() if k not in ("job_id", "company_id", "date")})
        return True

    @api.model
    def _demo_finish(self, jobs_xmlids, invoice_xmlids):
        """Demo data: charges of the demo visits, and the visits of the past month invoiced."""
        jobs = self.env["crowd.job"].browse([self.env.ref(x).id for x in jobs_xmlids])
        self._create_for_jobs(jobs)
        to_invoice = self.search([("job_id", "in", [self.env.ref(x).id for x in invoice_xmlids])])
        to_invoice._create_invoices(post=True)
