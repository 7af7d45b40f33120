import logging
from datetime import datetime, time

from psycopg2 import errors as pg_errors

from odoo import Command, api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.crowd_service.models.crowd_dispatch_rule import DEFAULT_PLANNED_DURATION_MIN

from .crowd_move_source import CRON_CHUNK

_logger = logging.getLogger(__name__)

APPROVAL_ACTIVITY = "crowd_service_payout.mail_activity_type_payout_approval"
OPEN_STATES = ("draft", "to_approve")
# What is paid, to whom and for what: frozen once a payout leaves draft/to approve.
FROZEN_FIELDS = {
    "name",
    "job_id",
    "expert_id",
    "bill_partner_id",
    "company_id",
    "currency_id",
    "package_id",
    "date",
    "distance_km",
    "base_amount",
    "travel_amount",
    "peak_amount",
    "pay_multiplier",
    "pay_lines",
    "amount",
    "is_manual",
    "manual_reason",
}
# The workflow: written only by the action methods, through _write_workflow().
WORKFLOW_FIELDS = {
    "state",
    "approver_id",
    "approved_on",
    "first_approver_id",
    "first_approved_on",
    "move_line_id",
    "move_id",
    "completed_by_id",
    "is_auto",
    "reject_reason",
    "cancel_reason",
}
AMOUNT_FIELDS = ("amount", "base_amount", "travel_amount", "peak_amount", "distance_km")


class CrowdPayout(models.Model):
    _name = "crowd.payout"
    _description = "Crowd Expert Payout"
    _inherit = ["crowd.move.source", "portal.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True
    _workflow_fields = WORKFLOW_FIELDS
    _move_type = "in_invoice"
    _move_ready_state = "approved"
    _move_done_state = "billed"
    _move_partner_field = "bill_partner_id"
    _move_origin_field = "crowd_payout_origin_id"
    _move_auto_post_field = "crowd_payout_auto_post"

    name = fields.Char(string="Reference", readonly=True, copy=False, default="/", index="trigram")
    job_id = fields.Many2one(
        "crowd.job",
        string="Job",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
        help="The visit paid by this payout (one payout per job).",
    )
    request_id = fields.Many2one(related="job_id.request_id", store=True, index=True, string="Request")
    request_ref = fields.Char(related="job_id.request_id.name", string="Request Subject")
    equipment_id = fields.Many2one(related="job_id.equipment_id", store=True, string="Equipment")
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
        tracking=True,
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
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
    )
    package_id = fields.Many2one(
        "crowd.service.package", string="Service Package", check_company=True, tracking=True, ondelete="restrict"
    )
    distance_km = fields.Float(string="Distance (km)", help="Distance of the accepted offer.")
    base_amount = fields.Monetary(string="Package Rate")
    travel_amount = fields.Monetary(string="Travel Allowance")
    peak_amount = fields.Monetary(
        string="Extra Pay",
        help="What the pay rules and shortage pay of the accepted offer, and an earned standby premium, add to the "
        "package rate.",
    )
    pay_multiplier = fields.Float(
        "Pay Multiplier", digits=(6, 4), default=1.0, help="Multiplier of the package rate, from the accepted offer."
    )
    pay_lines = fields.Json(help="The extra pay of the accepted offer: rules, shortage pay, cap (technical).")
    pay_label = fields.Char("Extra Pay Reason", compute="_compute_pay_label")
    amount = fields.Monetary(required=True, tracking=True)
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
    cost_ceiling = fields.Monetary(
        related="job_id.cost_ceiling", currency_field="company_currency_id", string="Cost Ceiling"
    )
    above_ceiling = fields.Boolean(
        compute="_compute_above_ceiling",
        store=True,
        help="The payout exceeds the cost ceiling of its job: only a Crowd manager can approve.",
    )
    move_line_id = fields.Many2one(string="Bill Line")
    move_id = fields.Many2one(string="Vendor Bill")

    _sql_constraints = [
        (
            "amounts_positive",
            "CHECK(amount >= 0 AND COALESCE(base_amount, 0) >= 0 AND COALESCE(travel_amount, 0) >= 0"
            " AND COALESCE(peak_amount, 0) >= 0"
            " AND COALESCE(distance_km, 0) >= 0)",
            "Payout amounts and distances cannot be negative.",
        ),
        # completing a job twice, or two completions racing, never pay it twice
        ("job_uniq", "UNIQUE(job_id)", "A job has one payout."),
    ]

    # ------------------------------------------------------------------ computes
    @api.depends("expert_id")
    def _compute_bill_partner_id(self):
        # Only on the expert: the vendor is set when the expert is, never moved afterwards by a
        # change of the expert's partner company (and the expert is frozen once approved).
        for payout in self:
            expert = payout.expert_id
            payout.bill_partner_id = (expert.crowd_kind == "partner" and expert.crowd_company_partner_id) or expert

    @api.depends("job_id")
    def _compute_company_id(self):
        for payout in self:
            payout.company_id = payout.job_id.company_id or payout.company_id or self.env.company

    @api.depends("package_id", "company_id")
    def _compute_currency_id(self):
        for payout in self:
            payout.currency_id = payout.package_id.currency_id or payout.company_id.currency_id

    @api.depends("pay_lines")
    @api.depends_context("lang")
    def _compute_pay_label(self):
        engine = self.env["crowd.dispatch.engine"]
        for payout in self:
            payout.pay_label = engine._pay_lines_text(payout.pay_lines)

    @api.depends("amount_company", "company_id.crowd_payout_double_threshold")
    def _compute_needs_second_approval(self):
        for payout in self:
            threshold = payout.company_id.crowd_payout_double_threshold
            payout.needs_second_approval = bool(threshold) and payout.amount_company > threshold

    @api.depends("job_id.cost_ceiling", "amount_company", "state")
    def _compute_above_ceiling(self):
        for payout in self:
            ceiling = payout.job_id.cost_ceiling
            payout.above_ceiling = (
                bool(ceiling)
                and payout.state not in ("rejected", "cancelled")
                and payout.company_currency_id.compare_amounts(payout.amount_company, ceiling) > 0
            )

    def _compute_access_url(self):  # pylint: disable=missing-return
        super()._compute_access_url()
        for payout in self:
            payout.access_url = f"/my/payouts/{payout.id}"

    # ------------------------------------------------------------------ constraints
    @api.constrains(*AMOUNT_FIELDS)
    def _check_not_negative(self):
        for payout in self:
            payout._check_amount_vals({fname: payout[fname] for fname in AMOUNT_FIELDS})

    @api.model
    def _check_amount_vals(self, vals):
        # also called before an insert, so that a negative amount gets this message, not the SQL one
        if any((vals.get(fname) or 0.0) < 0 for fname in AMOUNT_FIELDS):
            raise ValidationError(self.env._("Payout amounts and distances cannot be negative."))

    @api.constrains("is_manual", "manual_reason", "amount", "package_id", "base_amount", "travel_amount", "peak_amount")
    def _check_manual_reason(self):
        for payout in self:
            package_pay = payout.base_amount + payout.peak_amount + payout.travel_amount if payout.package_id else 0.0
            if payout.is_manual or not payout.currency_id.compare_amounts(payout.amount, package_pay):
                if payout.is_manual and not (payout.manual_reason or "").strip():
                    raise ValidationError(
                        self.env._("Payout %(name)s: a manual amount needs a reason.", name=payout.display_name)
                    )
                continue
            raise ValidationError(
                self.env._(
                    "Payout %(name)s does not pay its package's rate: mark it as a manual amount with a reason.",
                    name=payout.display_name,
                )
            )

    @api.constrains("expert_id", "job_id")
    def _check_expert_id(self):
        for payout in self:
            job_expert = payout.job_id.sudo().expert_id  # sudo: compared only
            if job_expert and payout.expert_id != job_expert:
                raise ValidationError(
                    self.env._(
                        "Payout %(name)s: only the expert of job %(job)s (%(expert)s) is paid for it.",
                        name=payout.display_name,
                        job=payout.job_id.sudo().display_name,
                        expert=job_expert.display_name,
                    )
                )
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
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_workflow_vals({k: v for k, v in vals.items() if v and (k, v) != ("state", "draft")})
            self._check_amount_vals(vals)
            self._complete_pay_vals(vals)
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("crowd.payout") or "/"
        return super().create(vals_list)

    @api.model
    def _complete_pay_vals(self, vals):
        """Fill in the best package of a new payout and its pay; an amount that is not the
        package's rate (or without a package) is a manual amount, which needs a reason."""
        job = self.env["crowd.job"].browse(vals.get("job_id"))
        if job and not vals.get("expert_id"):
            vals["expert_id"] = job.sudo().expert_id.id  # sudo: the job's expert, whoever creates
        expert = self.env["res.partner"].browse(vals.get("expert_id"))
        package = self.env["crowd.service.package"]
        if not vals.get("package_id") and job and expert:
            package = package._find_best(job, expert)
        if not package:
            vals.setdefault("amount", 0.0)
            if not vals.get("package_id") and vals["amount"]:
                vals["is_manual"] = True
            return vals
        distance = vals.setdefault("distance_km", job._crowd_offer_distance(expert))
        pay = package._compute_pay(distance)
        # the extra pay of the accepted offer (pay rules, shortage pay) is kept on the payout
        offer = job._crowd_accepted_offer(expert) if job and expert else self.env["crowd.dispatch.offer"]
        # the standby premium the expert earned is extra pay of the package's payout, unless the caller sets the pay
        standby = None
        if job and expert and not {"pay_lines", "peak_amount", "amount"} & vals.keys():
            standby = self._crowd_take_standby_premium(job, expert, pay["base_amount"], package.currency_id)
        multiplier = vals.setdefault("pay_multiplier", offer.pay_multiplier or 1.0)
        vals.setdefault("pay_lines", offer.pay_lines or False)
        peak = package.currency_id.round(pay["base_amount"] * multiplier) - pay["base_amount"]
        if standby:
            vals["pay_lines"] = [*(vals["pay_lines"] or []), standby]
            peak += standby["amount"]
        vals.update(package_id=package.id, currency_id=package.currency_id.id)
        vals.setdefault("base_amount", pay["base_amount"])
        vals.setdefault("travel_amount", pay["travel_amount"])
        vals.setdefault("peak_amount", peak)
        vals.setdefault("amount", pay["amount"] + peak)
        if package.currency_id.compare_amounts(vals["amount"], pay["amount"] + vals["peak_amount"]):
            vals["is_manual"] = True
        return vals

    @api.model
    def _crowd_take_standby_premium(self, job, expert, base_amount, currency):
        """System: the standby premium ``expert`` earned (res.partner.crowd_standby_earned_at), if ``job`` is the
        first job they accepted after earning it, the same (UTC) day, as a pay line
        ``{"code": "standby", "hours", "amount"}``, consumed; None otherwise.

        The premium is ``hours`` of the job's pay: its package rate per planned hour,
        ``base_amount * hours * 60 / planned_duration_min``. It is consumed by one conditional UPDATE, so two
        payouts created at once cannot both take it."""
        job, expert = job.sudo(), expert.sudo()  # sudo: system fields of the job and the expert
        earned_at = expert.crowd_standby_earned_at
        assigned_at = job.assigned_at
        if not earned_at or not assigned_at or job.expert_id != expert or expert.crowd_standby_premium_hours <= 0:
            return None
        if assigned_at < earned_at or assigned_at.date() != earned_at.date():
            return None
        day_end = datetime.combine(earned_at.date(), time.max)
        first = (
            self.env["crowd.job"]
            .sudo()
            .search(
                [
                    ("expert_id", "=", expert.id),
                    ("assigned_at", ">=", earned_at),
                    ("assigned_at", "<=", day_end),
                    ("state", "!=", "cancelled"),
                ],
                order="assigned_at, id",
                limit=1,
            )
        )
        if first != job:
            return None  # an earlier job accepted after coming online gets it
        expert.flush_recordset(["crowd_standby_earned_at", "crowd_standby_premium_hours"])
        self.env.cr.execute(
            SQL(
                "UPDATE res_partner SET crowd_standby_earned_at = NULL"
                " WHERE id = %s AND crowd_standby_earned_at = %s RETURNING crowd_standby_premium_hours",
                expert.id,
                earned_at,
            )
        )
        row = self.env.cr.fetchone()
        expert.invalidate_recordset(["crowd_standby_earned_at"])
        if not row:
            return None  # taken by another payout meanwhile
        hours = row[0] or 0.0
        planned_min = job.planned_duration_min or DEFAULT_PLANNED_DURATION_MIN
        amount = currency.round(base_amount * hours * 60.0 / planned_min)
        return {"code": "standby", "hours": hours, "amount": amount}

    def write(self, vals):
        self._check_workflow_vals(vals)
        frozen = FROZEN_FIELDS.intersection(vals)
        locked = self.filtered(lambda p: p.state not in OPEN_STATES)
        if frozen and locked:
            raise UserError(
                self.env._(
                    "%(names)s: once approved (or rejected, cancelled), a payout's %(fields)s cannot change.",
                    names=", ".join(locked.mapped("name")),
                    fields=", ".join(sorted(self._fields[f].string for f in frozen)),
                )
            )
        if "amount" in vals:
            changed = self.filtered(lambda p: p.currency_id.compare_amounts(p.amount, vals["amount"]))
            # a changed amount is a manual one, and voids a first approval
            changed._write_workflow({"first_approver_id": False, "first_approved_on": False})
            if changed and "is_manual" not in vals:
                vals = dict(vals, is_manual=True)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_billed(self):
        if any(p.state not in ("draft", "rejected", "cancelled") for p in self):
            raise UserError(self.env._("Only draft, rejected or cancelled payouts can be deleted."))

    # ------------------------------------------------------------------ approval rules
    def _is_approver(self, user=None):
        return (user or self.env.user).has_group("crowd_service_payout.group_payout_approver")

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
                "%(name)s exceeds the cost ceiling of its job: only a Crowd manager can approve it.",
                name=self.name,
            )
        return False

    def _approver_users(self):
        """Internal users of the Payout Approver group who may approve this payout."""
        self.ensure_one()
        group = self.env.ref("crowd_service_payout.group_payout_approver")
        users = group.sudo().users.filtered(  # sudo: reading group members to assign activities
            lambda u: not u.share and self.company_id in u.company_ids
        )
        users -= self.create_uid | self.completed_by_id | self._expert_users() | self.first_approver_id
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
        self._write_workflow({"state": "to_approve"})
        self._schedule_approval_activities()
        return True

    def action_approve(self):
        """Approve the payouts (all or none: any refusal changes nothing). Only a Payout
        Approver may, and never for a payout they created, completed or are paid by."""
        user = self.env.user
        if not self._is_approver(user):
            raise AccessError(self.env._("Only a Payout Approver can approve payouts."))
        refusals = [reason for reason in (p._approval_refusal(user) for p in self) if reason]
        if refusals:
            raise UserError("\n".join(refusals))
        now = fields.Datetime.now()
        first = self.filtered(lambda p: p.needs_second_approval and not p.first_approver_id)
        first._write_workflow({"first_approver_id": user.id, "first_approved_on": now})
        for payout in first:
            payout.message_post(
                body=self.env._("First approval; a second approver must confirm (amount above the threshold).")
            )
        final = self - first
        final._write_workflow({"state": "approved", "approver_id": user.id, "approved_on": now})
        self.activity_feedback([APPROVAL_ACTIVITY], user_id=user.id)
        final.activity_unlink([APPROVAL_ACTIVITY])
        return True

    def _action_reject(self, reason):
        if not self._is_approver():
            raise AccessError(self.env._("Only a Payout Approver can reject payouts."))
        self._check_reason_and_states(reason, ("to_approve", "approved"))
        self._write_workflow({"state": "rejected", "reject_reason": reason})
        self.activity_unlink([APPROVAL_ACTIVITY])
        return True

    def _action_cancel(self, reason):
        self._check_reason_and_states(reason, ("draft", "to_approve", "approved", "rejected"))
        self._write_workflow({"state": "cancelled", "cancel_reason": reason})
        self.activity_unlink([APPROVAL_ACTIVITY])
        return True

    def _check_reason_and_states(self, reason, states):
        if not (reason or "").strip():
            raise UserError(self.env._("Give a reason."))
        wrong = self.filtered(lambda p: p.state not in states)
        if wrong:
            raise UserError(
                self.env._(
                    "Not possible for %(names)s in this state (billed or paid payouts follow their vendor bill).",
                    names=", ".join(wrong.mapped("name")),
                )
            )

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
        if self.filtered(lambda p: p.state not in ("rejected", "cancelled")):
            raise UserError(self.env._("Only rejected or cancelled payouts can be reset to draft."))
        self._write_workflow(
            dict.fromkeys(("first_approver_id", "first_approved_on", "approver_id", "approved_on"), False)
            | {"state": "draft"}
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
    def _create_auto_payouts(self, jobs):
        """The payout of each done job of a paid expert (not an own technician); idempotent (one
        payout per job, by a unique constraint).

        The completing user (dispatcher or expert) has no right to create payouts; the completion
        was checked by its caller, so the payout is created as superuser, create_uid staying theirs."""
        Payout = self.sudo()
        paid_jobs = Payout.search([("job_id", "in", jobs.ids)]).job_id
        payouts = Payout.browse()
        for job in jobs.sudo() - paid_jobs:
            if not job.expert_id or job.expert_id.crowd_kind == "employee":
                continue  # own technicians are salaried; their cost is the internal cost per job
            vals = {
                "job_id": job.id,
                "expert_id": job.expert_id.id,
                "is_auto": True,
                "date": fields.Date.context_today(self, job.done_at or fields.Datetime.now()),
                "completed_by_id": self.env.uid,
            }
            try:
                with self.env.cr.savepoint(), tools.mute_logger("odoo.sql_db"):
                    payouts |= Payout.create([vals])
            except pg_errors.UniqueViolation:
                _logger.info("Job %s already has its payout (concurrent completion)", job.name)
        to_submit = payouts.filtered("amount")
        to_submit.action_submit()
        for payout in payouts - to_submit:
            payout.message_post(
                body=self.env._("No service package matches this job: set a manual amount with a reason.")
            )
        return payouts.with_env(self.env)

    # ------------------------------------------------------------------ billing (crowd.move.source)
    def _check_move_rights(self):
        if not self._is_approver():
            raise AccessError(self.env._("Only a Payout Approver can bill payouts."))

    def _move_journal(self, company):
        return self._find_journal(company, company.crowd_payout_journal_id, "purchase")

    def _prepare_move(self, journal):
        """Values of the vendor bill of these payouts (one company, vendor, currency and month),
        as purchase's _prepare_invoice."""
        company, partner = self.company_id, self.bill_partner_id
        partner_bank = partner.commercial_partner_id.bank_ids.filtered_domain(
            ["|", ("company_id", "=", False), ("company_id", "=", company.id)]
        )[:1]
        return self._prepare_move_common(journal, self.env._("Crowd payouts")) | {
            "partner_bank_id": partner_bank.id,
            "invoice_date": min(fields.Date.context_today(self), fields.Date.end_of(self[0].date, "month")),
        }

    def _prepare_account_move_line(self):
        """Bill line of this payout, as purchase.order.line's."""
        self.ensure_one()
        job = self.job_id
        return self._prepare_move_line_common(
            self.package_id.product_id or self.env.ref("crowd_service_payout.product_crowd_service_job"),
            " – ".join(
                filter(
                    None,
                    (
                        job.request_id.name,
                        job.name,
                        self.expert_id.name,
                        fields.Date.to_string(self.date),
                        self.pay_label,
                    ),
                )
            ),
            self.amount,
            analytic=job.equipment_id.crowd_analytic_account_id or self.company_id.crowd_payout_analytic_account_id,
        )

    def _move_log_body(self):
        return self.env._("Self-billing of %(count)s crowd payouts.", count=len(self))

    def _release_message(self):
        return self.env._("Released from its vendor bill; approved again.")

    def _create_bills(self, post=None):
        """Group the approved payouts of self per company, vendor, currency and month into
        vendor bills, one line per payout, and mark them billed (see ``_create_moves``)."""
        return self._create_moves(post=post)

    @api.model
    def _cron_create_bills(self, chunk_size=CRON_CHUNK):
        """Bill the approved payouts of the months that are over (see ``_cron_create_moves``)."""
        self._cron_create_moves("_create_bills", chunk_size)

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
