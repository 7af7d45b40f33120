import logging
from collections import defaultdict

from psycopg2 import errors as pg_errors

from odoo import Command, api, fields, models, modules, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

APPROVAL_ACTIVITY = "crowd_service_payout.mail_activity_type_payout_approval"
# Fields that fix what is paid to whom; frozen once a payout is approved.
FROZEN_FIELDS = {
    "request_id",
    "expert_id",
    "amount",
    "currency_id",
    "company_id",
    "package_id",
    "date",
    "is_manual",
}
OPEN_STATES = ("draft", "to_approve")
# Fields only the workflow methods write (buttons, completion, billing): never a plain write.
WORKFLOW_FIELDS = {
    "state",
    "approver_id",
    "approved_on",
    "first_approver_id",
    "first_approved_on",
    "move_line_id",
    "completed_by_id",
    "is_auto",
    "reject_reason",
    "cancel_reason",
}


class CrowdPayout(models.Model):
    _name = "crowd.payout"
    _description = "Crowd Expert Payout"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Reference", readonly=True, copy=False, default="/", index="trigram")
    request_id = fields.Many2one(
        "maintenance.request",
        string="Request",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    request_ref = fields.Char(related="request_id.name", string="Request Subject")
    equipment_id = fields.Many2one(related="request_id.equipment_id", store=True, string="Equipment")
    expert_id = fields.Many2one(
        "res.partner",
        string="Expert",
        required=True,
        index=True,
        ondelete="restrict",
        domain=[("is_crowd_expert", "=", True)],
        tracking=True,
    )
    expert_kind = fields.Selection(related="expert_id.crowd_kind", store=True, string="Expert Kind")
    expert_tier = fields.Selection(related="expert_id.crowd_tier", store=True, string="Tier")
    bill_partner_id = fields.Many2one(
        "res.partner",
        string="Bill To",
        compute="_compute_bill_partner_id",
        store=True,
        readonly=False,
        precompute=True,
        help="Vendor of the bill: the expert, or the partner company of a partner technician.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    package_id = fields.Many2one(
        "crowd.service.package", string="Service Package", check_company=True, tracking=True, ondelete="restrict"
    )
    distance_km = fields.Float(string="Distance (km)", help="Distance of the accepted offer.")
    base_amount = fields.Monetary(string="Package Rate")
    travel_amount = fields.Monetary(string="Travel Allowance")
    amount = fields.Monetary(required=True, tracking=True)
    amount_company = fields.Monetary(
        string="Amount (Company Currency)",
        currency_field="company_currency_id",
        compute="_compute_amount_company",
        store=True,
    )
    is_manual = fields.Boolean(string="Manual Amount", tracking=True, copy=False)
    manual_reason = fields.Text(string="Reason for Manual Amount", tracking=True, copy=False)
    is_auto = fields.Boolean(
        string="Automatic", readonly=True, copy=False, help="Created automatically when the job was completed."
    )
    date = fields.Date(string="Job Date", required=True, default=fields.Date.context_today, index=True)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("to_approve", "To Approve"),
            ("approved", "Approved"),
            ("billed", "Billed"),
            ("paid", "Paid"),
            ("rejected", "Rejected"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    reject_reason = fields.Text(readonly=True, copy=False, tracking=True)
    cancel_reason = fields.Text(readonly=True, copy=False, tracking=True)
    completed_by_id = fields.Many2one(
        "res.users", string="Completed By", readonly=True, copy=False, help="User who completed the job."
    )
    first_approver_id = fields.Many2one("res.users", string="First Approval By", readonly=True, copy=False)
    first_approved_on = fields.Datetime(readonly=True, copy=False)
    approver_id = fields.Many2one("res.users", string="Approved By", readonly=True, copy=False, tracking=True)
    approved_on = fields.Datetime(readonly=True, copy=False)
    needs_second_approval = fields.Boolean(compute="_compute_needs_second_approval", store=True)
    cost_ceiling = fields.Float(
        string="Cost Ceiling", compute="_compute_above_ceiling", store=True, help="Ceiling of the request."
    )
    above_ceiling = fields.Boolean(
        compute="_compute_above_ceiling",
        store=True,
        help="The payouts of the request exceed its cost ceiling: only a Crowd manager can approve.",
    )
    move_line_id = fields.Many2one(
        "account.move.line", string="Bill Line", readonly=True, copy=False, index="btree_not_null", ondelete="set null"
    )
    move_id = fields.Many2one(related="move_line_id.move_id", store=True, string="Vendor Bill", index="btree_not_null")
    payment_state = fields.Selection(related="move_id.payment_state", string="Payment Status")

    _sql_constraints = [
        ("amount_positive", "CHECK(amount >= 0)", "A payout amount cannot be negative."),
    ]

    def init(self):
        # At most one automatic payout per (request, expert): completing a job twice, or two
        # completions racing, never pays the same expert twice for it.
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS crowd_payout_auto_request_expert_uniq
                   ON crowd_payout (request_id, expert_id) WHERE is_auto"""
        )

    # ------------------------------------------------------------------ computes
    @api.depends("expert_id.crowd_kind", "expert_id.crowd_company_partner_id")
    def _compute_bill_partner_id(self):
        for payout in self:
            if payout.state in ("billed", "paid"):
                continue
            expert = payout.expert_id
            if expert.crowd_kind == "partner" and expert.crowd_company_partner_id:
                payout.bill_partner_id = expert.crowd_company_partner_id
            else:
                payout.bill_partner_id = expert

    @api.depends("request_id.company_id")
    def _compute_company_id(self):
        for payout in self:
            payout.company_id = payout.request_id.company_id or payout.company_id or self.env.company

    @api.depends("package_id", "company_id")
    def _compute_currency_id(self):
        for payout in self:
            payout.currency_id = payout.package_id.currency_id or payout.company_id.currency_id

    @api.depends("amount", "currency_id", "company_id", "date")
    def _compute_amount_company(self):
        for payout in self:
            payout.amount_company = payout._convert_to(payout.company_id.currency_id)

    @api.depends("amount_company", "company_id.crowd_payout_double_threshold")
    def _compute_needs_second_approval(self):
        for payout in self:
            threshold = payout.company_id.crowd_payout_double_threshold
            payout.needs_second_approval = bool(threshold) and payout.amount_company > threshold

    @api.depends(
        "request_id.crowd_cost_ceiling",
        "request_id.crowd_payout_ids.amount",
        "request_id.crowd_payout_ids.state",
        "amount",
        "state",
    )
    def _compute_above_ceiling(self):
        for payout in self:
            request = payout.request_id
            ceiling = request.crowd_cost_ceiling if request else 0.0
            payout.cost_ceiling = ceiling
            if not ceiling or payout.state in ("rejected", "cancelled"):
                payout.above_ceiling = False
                continue
            currency = request._crowd_ceiling_currency()
            live = request.crowd_payout_ids.filtered(lambda p: p.state not in ("rejected", "cancelled"))
            total = sum(p._convert_to(currency) for p in (live | payout))
            payout.above_ceiling = currency.compare_amounts(total, ceiling) > 0

    def _convert_to(self, currency):
        self.ensure_one()
        if not currency or self.currency_id == currency:
            return self.amount
        return self.currency_id._convert(
            self.amount, currency, self.company_id or self.env.company, self.date or fields.Date.today()
        )

    # ------------------------------------------------------------------ constraints
    @api.constrains("is_manual", "manual_reason", "amount", "package_id", "base_amount", "travel_amount")
    def _check_manual_reason(self):
        for payout in self:
            package_pay = payout.base_amount + payout.travel_amount if payout.package_id else 0.0
            manual = payout.is_manual or payout.currency_id.compare_amounts(payout.amount, package_pay)
            if manual and not (payout.manual_reason or "").strip():
                raise ValidationError(
                    self.env._("Payout %(name)s: a manual amount needs a reason.", name=payout.display_name)
                )
            if manual and not payout.is_manual:
                raise ValidationError(
                    self.env._(
                        "Payout %(name)s does not pay its package's rate: mark it as a manual amount.",
                        name=payout.display_name,
                    )
                )

    @api.constrains("expert_id")
    def _check_expert_id(self):
        for payout in self:
            if not payout.expert_id.is_crowd_expert:
                raise ValidationError(
                    self.env._("%(partner)s is not a crowd expert.", partner=payout.expert_id.display_name)
                )
            if payout.expert_id.crowd_kind == "employee":
                raise ValidationError(
                    self.env._(
                        "%(partner)s is an own technician: employees are not paid per job.",
                        partner=payout.expert_id.display_name,
                    )
                )

    # ------------------------------------------------------------------ CRUD
    def _check_workflow_fields(self, vals, creating=False):
        """States, approvals and bill links change through the workflow methods only, so an
        RPC write cannot approve or bill a payout around the approval rules."""
        if self.env.su or self.env.context.get("crowd_payout_system"):
            return
        fields_set = {fname for fname in WORKFLOW_FIELDS.intersection(vals) if vals[fname]}
        if creating and vals.get("state") == "draft":
            fields_set.discard("state")
        if fields_set:
            raise UserError(
                self.env._(
                    "Use the payout buttons to change %(fields)s.",
                    fields=", ".join(sorted(self._fields[f].string for f in fields_set)),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        Package = self.env["crowd.service.package"]
        for vals in vals_list:
            self._check_workflow_fields(vals, creating=True)
        for vals in vals_list:
            if vals.get("request_id") and vals.get("expert_id") and not vals.get("package_id"):
                request = self.env["maintenance.request"].browse(vals["request_id"])
                expert = self.env["res.partner"].browse(vals["expert_id"])
                package = Package._find_best(request, expert)
                if package:
                    vals["package_id"] = package.id
                    pay = package._compute_pay(request._crowd_offer_distance(expert))
                    vals.setdefault("base_amount", pay["base_amount"])
                    vals.setdefault("travel_amount", pay["travel_amount"])
                    if "amount" not in vals:
                        vals.update(pay, currency_id=package.currency_id.id)
                    elif package.currency_id.compare_amounts(vals["amount"], pay["amount"]):
                        vals["is_manual"] = True  # not the package's rate: a reason is required
            if "amount" not in vals:
                vals["amount"] = 0.0
            if not self.env.context.get("crowd_payout_auto") and not vals.get("package_id") and vals["amount"]:
                vals["is_manual"] = True  # an amount without a package
        seq_date_names = self._next_names(len(vals_list))
        for vals, name in zip(vals_list, seq_date_names, strict=True):
            if vals.get("name", "/") == "/":
                vals["name"] = name
        return super().create(vals_list)

    def _next_names(self, count):
        sequence = self.env["ir.sequence"].sudo().search([("code", "=", "crowd.payout")], limit=1)
        if not sequence:
            return ["/"] * count
        # one sequence lookup for the whole batch (10,000 payouts in a benchmark)
        return [sequence._next() for __ in range(count)]

    def write(self, vals):
        self._check_workflow_fields(vals)
        frozen = FROZEN_FIELDS.intersection(vals)
        if frozen and not self.env.context.get("crowd_payout_system"):
            locked = self.filtered(lambda p: p.state not in OPEN_STATES)
            if locked:
                raise UserError(
                    self.env._(
                        "Payouts %(names)s are no longer draft or to approve: their amount, expert and "
                        "request cannot change.",
                        names=", ".join(locked.mapped("name")),
                    )
                )
            if "amount" in vals:
                changed = self.filtered(lambda p: p.currency_id.compare_amounts(p.amount, vals["amount"]))
                if changed:
                    # a changed amount needs a reason, and a first approval is void
                    changed_vals = dict(vals, is_manual=True, first_approver_id=False, first_approved_on=False)
                    super(CrowdPayout, changed).write(changed_vals)
                    return super(CrowdPayout, self - changed).write(vals) if self - changed else True
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_billed(self):
        if any(p.state not in ("draft", "rejected", "cancelled") for p in self):
            raise UserError(self.env._("Only draft, rejected or cancelled payouts can be deleted."))

    # ------------------------------------------------------------------ access helpers
    def _is_approver(self, user=None):
        user = user or self.env.user
        return user.has_group("crowd_service_payout.group_payout_approver")

    def _expert_users(self):
        self.ensure_one()
        # sudo: the expert's users may belong to other companies; only their ids are compared
        expert = self.expert_id.sudo().with_context(active_test=False)
        return (expert.crowd_user_id | expert.user_ids).with_env(self.env)

    def _approval_refusal(self, user):
        """Why ``user`` may not approve this payout now (a translated sentence), or False."""
        self.ensure_one()
        if self.state != "to_approve":
            return self.env._("%(name)s is not waiting for approval.", name=self.name)
        if not self._is_approver(user):
            return self.env._("Only a Payout Approver can approve %(name)s.", name=self.name)
        if self.completed_by_id == user:
            return self.env._("You completed the job of %(name)s: someone else must approve it.", name=self.name)
        if self.create_uid == user:
            return self.env._("You created %(name)s: someone else must approve it.", name=self.name)
        if user in self._expert_users():
            return self.env._("%(name)s is your own payout: you cannot approve it.", name=self.name)
        if self.first_approver_id == user:
            return self.env._(
                "You already approved %(name)s: the second approval must come from another approver.", name=self.name
            )
        if self.above_ceiling and not user.has_group("crowd_service.group_crowd_manager"):
            return self.env._(
                "%(name)s exceeds the cost ceiling of its request: only a Crowd manager can approve it.",
                name=self.name,
            )
        return False

    def _excluded_approvers(self):
        self.ensure_one()
        return self.create_uid | self.completed_by_id | self._expert_users() | self.first_approver_id

    def _approver_users(self):
        """Internal users of the Payout Approver group who may approve this payout."""
        self.ensure_one()
        group = self.env.ref("crowd_service_payout.group_payout_approver")
        users = group.sudo().users.filtered(  # sudo: reading group members to assign activities
            lambda u: not u.share and self.company_id in u.company_ids
        )
        users -= self._excluded_approvers()
        if self.above_ceiling:
            users = users.filtered(lambda u: u.has_group("crowd_service.group_crowd_manager"))
        return users

    def _schedule_approval_activities(self):
        for payout in self:
            for user in payout._approver_users():
                payout.activity_schedule(
                    APPROVAL_ACTIVITY,
                    user_id=user.id,
                    summary=self.env._("Approve payout %(name)s", name=payout.name),
                )

    # ------------------------------------------------------------------ actions
    def action_submit(self):
        for payout in self:
            if payout.state != "draft":
                raise UserError(self.env._("Only draft payouts can be submitted (%(name)s).", name=payout.name))
            if payout.currency_id.is_zero(payout.amount):
                raise UserError(
                    self.env._(
                        "%(name)s has no amount: no service package matches; set a manual amount with a reason.",
                        name=payout.name,
                    )
                )
        self.with_context(crowd_payout_system=True).write({"state": "to_approve"})
        self._schedule_approval_activities()
        return True

    def action_approve(self):
        """Approve the payouts (all or none: any refusal changes nothing)."""
        user = self.env.user
        if not self._is_approver(user):
            raise AccessError(self.env._("Only a Payout Approver can approve payouts."))
        refusals = [reason for reason in (p._approval_refusal(user) for p in self) if reason]
        if refusals:
            raise UserError("\n".join(refusals))
        now = fields.Datetime.now()
        system = self.with_context(crowd_payout_system=True)
        first = system.filtered(lambda p: p.needs_second_approval and not p.first_approver_id)
        if first:
            first.write({"first_approver_id": user.id, "first_approved_on": now})
            first.activity_feedback([APPROVAL_ACTIVITY], user_id=user.id)
            for payout in first:
                payout.message_post(
                    body=self.env._("First approval; a second approver must confirm (amount above the threshold).")
                )
        final = system - first
        if final:
            final.write({"state": "approved", "approver_id": user.id, "approved_on": now})
            final.activity_feedback([APPROVAL_ACTIVITY], user_id=user.id)
            final.activity_unlink([APPROVAL_ACTIVITY])
        return True

    def _action_reject(self, reason):
        if not self._is_approver():
            raise AccessError(self.env._("Only a Payout Approver can reject payouts."))
        if not (reason or "").strip():
            raise UserError(self.env._("Give a reason to reject payouts."))
        wrong = self.filtered(lambda p: p.state not in ("to_approve", "approved"))
        if wrong:
            raise UserError(
                self.env._(
                    "Only payouts to approve or approved can be rejected: %(names)s",
                    names=", ".join(wrong.mapped("name")),
                )
            )
        self.with_context(crowd_payout_system=True).write({"state": "rejected", "reject_reason": reason})
        self.activity_unlink([APPROVAL_ACTIVITY])
        return True

    def _action_cancel(self, reason):
        if not (reason or "").strip():
            raise UserError(self.env._("Give a reason to cancel payouts."))
        wrong = self.filtered(lambda p: p.state in ("billed", "paid"))
        if wrong:
            raise UserError(
                self.env._(
                    "Billed or paid payouts cannot be cancelled; cancel their vendor bill first: %(names)s",
                    names=", ".join(wrong.mapped("name")),
                )
            )
        self.with_context(crowd_payout_system=True).write({"state": "cancelled", "cancel_reason": reason})
        self.activity_unlink([APPROVAL_ACTIVITY])
        return True

    def action_reject(self):
        return self._open_reason_wizard("reject")

    def action_cancel(self):
        return self._open_reason_wizard("cancel")

    def _open_reason_wizard(self, mode):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Payouts") if mode == "reject" else self.env._("Cancel Payouts"),
            "res_model": "crowd.payout.reason.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mode": mode, "default_payout_ids": [Command.set(self.ids)]},
        }

    def action_reset_draft(self):
        wrong = self.filtered(lambda p: p.state not in ("rejected", "cancelled"))
        if wrong:
            raise UserError(self.env._("Only rejected or cancelled payouts can be reset to draft."))
        self.with_context(crowd_payout_system=True).write(
            {
                "state": "draft",
                "first_approver_id": False,
                "first_approved_on": False,
                "approver_id": False,
                "approved_on": False,
            }
        )
        return True

    def action_open_bill(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.move_id.id,
            "view_mode": "form",
        }

    def action_open_bill_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Create Vendor Bills"),
            "res_model": "crowd.payout.bill.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": "crowd.payout", "active_ids": self.ids},
        }

    # ------------------------------------------------------------------ automatic payouts
    @api.model
    def _create_auto_payouts(self, requests):
        """One payout per expert of each completed request; idempotent (see the unique index)."""
        existing = {
            (p.request_id.id, p.expert_id.id)
            for p in self.sudo().search([("request_id", "in", requests.ids), ("is_auto", "=", True)])
        }
        packages_by_company = {}
        vals_list = []
        for request in requests:
            company = request.company_id
            if company not in packages_by_company:
                packages_by_company[company] = self.env["crowd.service.package"].search(
                    [("company_id", "in", [company.id, False])]
                )
            done_date = request.crowd_done_at and fields.Date.context_today(self, request.crowd_done_at)
            for expert in request._crowd_payout_experts():
                if (request.id, expert.id) in existing:
                    continue
                existing.add((request.id, expert.id))
                package = self.env["crowd.service.package"]._find_best(request, expert, packages_by_company[company])
                distance = request._crowd_offer_distance(expert)
                vals = {
                    "request_id": request.id,
                    "expert_id": expert.id,
                    "company_id": company.id,
                    "is_auto": True,
                    "is_manual": False,
                    "date": done_date or fields.Date.context_today(self),
                    "completed_by_id": self.env.uid,
                    "distance_km": distance,
                    "package_id": package.id,
                }
                if package:
                    vals.update(package._compute_pay(distance), currency_id=package.currency_id.id)
                vals_list.append(vals)
        if not vals_list:
            return self.browse()
        # The completing user (dispatcher or expert) has no right to create payouts; the job
        # completion was checked by the caller, so the payout itself is created as superuser
        # while create_uid stays the completing user.
        Payout = self.sudo().with_context(crowd_payout_auto=True)
        payouts = Payout.browse()
        for vals in vals_list:
            try:
                with self.env.cr.savepoint(), tools.mute_logger("odoo.sql_db"):
                    payouts |= Payout.create([vals])
            except pg_errors.UniqueViolation:
                _logger.info(
                    "Payout for request %s and expert %s already exists (concurrent completion)",
                    vals["request_id"],
                    vals["expert_id"],
                )
        to_submit = payouts.filtered(lambda p: p.amount > 0)
        to_submit.action_submit()
        for payout in payouts - to_submit:
            payout.message_post(
                body=self.env._("No service package matches this job: set a manual amount with a reason.")
            )
        return payouts

    # ------------------------------------------------------------------ billing
    def _lock_for_billing(self):
        """Lock the approved, unbilled payouts of self and return them; rows locked by a
        concurrent billing run are skipped, and the state is re-checked inside the lock."""
        if not self:
            return self
        self.flush_model(["state", "move_line_id"])
        rows = self.env.execute_query(
            SQL(
                """SELECT id FROM crowd_payout
                    WHERE id IN %s AND state = 'approved' AND move_line_id IS NULL
                    ORDER BY id
                      FOR UPDATE SKIP LOCKED""",
                tuple(self.ids),
            )
        )
        locked = self.browse([r[0] for r in rows])
        locked.invalidate_recordset(["state", "move_line_id"])
        return locked.filtered(lambda p: p.state == "approved" and not p.move_line_id)

    def _bill_group_key(self):
        self.ensure_one()
        return (self.company_id, self.bill_partner_id, self.currency_id, self.date.strftime("%Y-%m"))

    def _prepare_bill_line_vals(self, line_defaults=None):
        self.ensure_one()
        request = self.request_id
        analytic = request.equipment_id.crowd_analytic_account_id or self.company_id.crowd_payout_analytic_account_id
        vals = dict(line_defaults or {})
        vals.update(
            {
                "product_id": self._bill_product().id,
                "name": f"{request.name} – {self.expert_id.name} – {fields.Date.to_string(self.date)}",
                "quantity": 1.0,
                "price_unit": self.amount,
                "crowd_payout_origin_id": self.id,
                "analytic_distribution": {str(analytic.id): 100.0} if analytic else False,
            }
        )
        return vals

    def _bill_product(self):
        self.ensure_one()
        return self.package_id.product_id or self.env.ref("crowd_service_payout.product_crowd_service_job")

    @api.model
    def _bill_line_defaults(self, company, partner, product):
        """Expense account and taxes of a bill line, as account.move.line would compute them
        from the product and the vendor's fiscal position, computed once per bill instead of
        once per line (10,000 lines in the benchmark)."""
        product = product.with_company(company)
        fiscal_position = self.env["account.fiscal.position"].with_company(company)._get_fiscal_position(partner)
        account = product.product_tmpl_id.get_product_accounts(fiscal_pos=fiscal_position)["expense"]
        if not account:
            return {}, fiscal_position
        taxes = product.supplier_taxes_id.filtered_domain(self.env["account.tax"]._check_company_domain(company))
        taxes = taxes or account.tax_ids.filtered(lambda tax: tax.type_tax_use == "purchase")
        taxes = taxes._filter_taxes_by_company(company)
        if fiscal_position:
            taxes = fiscal_position.map_tax(taxes)
        return {"account_id": account.id, "tax_ids": [Command.set(taxes.ids)]}, fiscal_position

    def _bill_journal(self, company):
        journal = company.crowd_payout_journal_id
        if not journal:
            journal = (
                self.env["account.journal"]
                .with_company(company)
                .search([("company_id", "=", company.id), ("type", "=", "purchase")], limit=1)
            )
        if not journal:
            raise UserError(
                self.env._("Company %(company)s has no purchase journal for payout bills.", company=company.name)
            )
        return journal

    def _create_bills(self, post=None):
        """Group the approved payouts of self per company, vendor, currency and month into
        vendor bills; each payout is linked to its bill line. Returns the bills.

        Safe against double clicks, retries and concurrent runs: payouts are locked
        (SKIP LOCKED) and their state re-checked inside the lock."""
        if not self.env.su:
            if not self._is_approver():
                raise AccessError(self.env._("Only a Payout Approver can bill payouts."))
            self.check_access("write")
        # sudo: access was checked above; experts of another company's pool and their jobs are
        # not readable by the approver of this company, yet they are billed here.
        payouts = self.sudo()._lock_for_billing()
        if not payouts:
            return self.env["account.move"]
        groups = defaultdict(payouts.browse)
        for payout in payouts:
            groups[payout._bill_group_key()] |= payout
        moves = payouts.env["account.move"]
        by_company = defaultdict(list)
        for key, group in groups.items():
            by_company[key[0]].append((key, group.sorted(lambda p: (p.date, p.id))))
        for company, company_groups in by_company.items():
            journal = self._bill_journal(company)
            today = fields.Date.context_today(self)
            vals_list = []
            for (__, partner, currency, period), group in company_groups:
                period_end = fields.Date.end_of(group[0].date, "month")
                defaults = {}
                lines = []
                invoice_date = min(today, period_end)
                rate = self.env["res.currency"]._get_conversion_rate(
                    company.currency_id, currency, company, invoice_date
                )
                for payout in group:
                    product = payout._bill_product()
                    if product not in defaults:
                        defaults[product] = self._bill_line_defaults(company, partner, product)
                    line_vals = payout._prepare_bill_line_vals(defaults[product][0])
                    if line_vals.get("tax_ids") == [Command.set([])]:
                        # Without taxes the amounts are known: giving them lets the bill skip
                        # recomputing its tax lines for each of its (up to thousands of) lines.
                        amount = currency.round(payout.amount)
                        line_vals["amount_currency"] = amount
                        line_vals["balance"] = company.currency_id.round(amount / rate) if rate else amount
                    lines.append(Command.create(line_vals))
                fiscal_position = next(iter(defaults.values()))[1]
                vals_list.append(
                    {
                        "move_type": "in_invoice",
                        "partner_id": partner.id,
                        "currency_id": currency.id,
                        "journal_id": journal.id,
                        "invoice_date": invoice_date,
                        "ref": self.env._("Crowd payouts %(period)s (%(first)s)", period=period, first=group[0].name),
                        "invoice_origin": self.env._("Crowd payouts %(period)s", period=period),
                        "fiscal_position_id": fiscal_position.id,
                        "invoice_line_ids": lines,
                    }
                )
            company_moves = (
                payouts.env["account.move"]
                .with_company(company)
                .with_context(default_move_type="in_invoice", tracking_disable=True)
                .create(vals_list)
            )
            moves |= company_moves
        payouts._link_bill_lines(moves)
        for move in moves:
            move.with_context(tracking_disable=False).message_post(
                body=self.env._("Self-billing of %(count)s crowd payouts.", count=len(move.crowd_payout_ids))
            )
        if post is None:
            to_post = moves.filtered(lambda m: m.company_id.crowd_payout_auto_post)
        else:
            to_post = moves if post else moves.browse()
        if to_post:
            to_post.action_post()
        return moves.with_env(self.env)

    def _link_bill_lines(self, moves):
        """Point each payout of self at the line of ``moves`` made for it, and mark it billed.

        One UPDATE for the whole run (10,000 payouts in the benchmark) instead of one write per
        payout; the state change is recorded once per bill (see _create_bills), not per payout."""
        self.env["account.move.line"].flush_model(["crowd_payout_origin_id", "move_id"])
        self.flush_recordset()
        updated = self.env.execute_query(
            SQL(
                """UPDATE crowd_payout p
                      SET move_line_id = l.id, move_id = l.move_id, state = 'billed',
                          write_uid = %s, write_date = (now() at time zone 'UTC')
                     FROM account_move_line l
                    WHERE l.crowd_payout_origin_id = p.id
                      AND l.move_id IN %s
                      AND p.id IN %s
                      AND p.state = 'approved'
                RETURNING p.id""",
                self.env.uid,
                tuple(moves.ids),
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(["move_line_id", "move_id", "state", "write_uid", "write_date"])
        moves.invalidate_recordset(["crowd_payout_ids"])
        if len(updated) != len(self):
            raise UserError(self.env._("Some payouts could not be linked to their bill line; nothing was billed."))

    @api.model
    def _cron_create_bills(self):
        """Bill the approved payouts of the months that are over, one company per transaction."""
        month_start = fields.Date.start_of(fields.Date.context_today(self), "month")
        domain = [("state", "=", "approved"), ("date", "<", month_start)]
        # a system job: every company with payouts to bill, whatever the cron user's companies
        Payout = self.sudo()
        for (company,) in Payout._read_group(domain, ["company_id"]):
            Payout.with_company(company).search([*domain, ("company_id", "=", company.id)])._create_bills()
            if not modules.module.current_test:
                self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _demo_finish(self, to_approve_ids, billed_ids, paid_ids):
        """Demo data: approval activities, a posted bill and a paid bill."""
        self.browse(to_approve_ids)._schedule_approval_activities()
        self.browse(billed_ids)._create_bills(post=True)
        paid_bills = self.browse(paid_ids)._create_bills(post=True)
        if paid_bills:
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=paid_bills.ids
            ).create({})._create_payments()

    def _release_from_bill(self):
        """The bill of these payouts was cancelled, reset to draft or deleted: back to approved."""
        payouts = self.filtered(lambda p: p.state in ("billed", "paid"))
        if payouts:
            payouts.with_context(crowd_payout_system=True).write({"state": "approved", "move_line_id": False})
            for payout in payouts:
                payout.message_post(body=self.env._("Released from its vendor bill; approved again."))
        return payouts

    def _sync_payment(self):
        """Billed payouts of paid bills become paid, and back when the payment is undone; a
        bill fully reversed by a credit note releases its payouts (approved again)."""
        reversed_bill = self.filtered(lambda p: p.move_id.payment_state == "reversed")
        if reversed_bill:
            reversed_bill._release_from_bill()
        for payout in self - reversed_bill:
            paid = payout.move_id.state == "posted" and payout.move_id.payment_state in ("paid", "in_payment")
            if paid and payout.state == "billed":
                payout.with_context(crowd_payout_system=True).state = "paid"
            elif not paid and payout.state == "paid":
                payout.with_context(crowd_payout_system=True).state = "billed"
