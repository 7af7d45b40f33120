from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import formatLang

from crowd_dispatch.policy import shortage_pay

from .maintenance_request import CHARGE_READERS, PAYOUT_READERS

OPEN_DISPATCH_STATES = ("dispatching", "offered")


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
    wait_code = fields.Selection(
        selection_add=[("pay_approval", "Waiting for pay approval")], ondelete={"pay_approval": "set null"}
    )
    # the cost ceiling: offers whose pay passes it wait for a dispatcher's approval
    pay_approval_state = fields.Selection(
        [("needed", "Approval Needed"), ("approved", "Approved")],
        string="Pay Above Ceiling",
        readonly=True,
        copy=False,
        tracking=True,
        help="Approval Needed: the next offers pay more than the cost ceiling and are held until a dispatcher "
        "approves the pay. Approved: offers may pay up to the approved amount.",
    )
    pay_approval_amount = fields.Monetary(
        "Pay to Approve",
        currency_field="currency_id",
        readonly=True,
        copy=False,
        help="Highest pay of the held offers (needed) or the pay approved above the ceiling (approved).",
    )
    pay_approved_by_id = fields.Many2one("res.users", "Pay Approved By", readonly=True, copy=False)
    pay_approved_at = fields.Datetime("Pay Approved At", readonly=True, copy=False)

    charge_ids = fields.One2many("crowd.customer.charge", "job_id", string="Customer Charge", groups=CHARGE_READERS)
    charge_count = fields.Integer(
        compute="_compute_charge_count", string="Customer Charge Count", groups=CHARGE_READERS
    )

    @api.depends("payout_ids")
    def _compute_payout_count(self):
        for job in self:
            job.payout_count = len(job.payout_ids)

    @api.model
    def _crowd_system_fields(self):
        return super()._crowd_system_fields() | {
            "pay_approval_state",
            "pay_approval_amount",
            "pay_approved_by_id",
            "pay_approved_at",
        }

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

    # ------------------------------------------------------------------ pay of an offer
    def _crowd_pay_quote(self, expert, distance_km=0.0, at=None, history=None):
        """The pay of ``expert`` for this job, offered at ``at`` (naive UTC, default: now), as a dict:
        ``package``, ``base_amount``, ``travel_amount``, ``peak_amount``, ``amount`` (package currency),
        ``amount_company`` (company currency), ``multiplier`` and ``lines`` (why, for the offer's label).
        None for an own technician or when no package matches.

        Stacking order (see crowd_pay_rule.py): the pay rules that match multiply the rate in sequence
        order, then shortage pay (the engine's, from the job's dispatch rule and offer history), then the
        company's cap on the multiplier; the travel allowance is added unmultiplied."""
        self.ensure_one()
        if expert.crowd_kind == "employee":
            return None  # own technicians are salaried, not paid per job
        job = self.sudo()  # sudo: rates, rules and the offer history are the system's
        package = self.env["crowd.service.package"].sudo()._find_best(job, expert)
        if not package:
            return None
        pay = package._compute_pay(distance_km or 0.0)
        at = at or job._crowd_now()
        multiplier, lines = 1.0, []
        for rule in self.env["crowd.pay.rule"]._matching(job, at):
            multiplier *= 1.0 + rule.percent / 100.0
            lines.append({"code": "rule", "rule_id": rule.id, "percent": rule.percent, "label": rule.label})
        engine = self.env["crowd.dispatch.engine"].sudo()
        settings = engine._rule_for(job)._dispatch_settings()
        extra, _steps, rounds = shortage_pay(engine._history(job) if history is None else history, settings)
        if extra:
            multiplier *= 1.0 + extra
            lines.append({"code": "shortage", "percent": round(100.0 * extra, 2), "rounds": rounds})
        cap = job.company_id.crowd_pay_max_multiplier
        if cap and multiplier > cap:
            multiplier = cap
            lines.append({"code": "cap", "multiplier": cap})
        multiplier = round(multiplier, 4)
        currency = package.currency_id
        base = pay["base_amount"]
        peak = currency.round(base * multiplier) - base if multiplier != 1.0 else 0.0
        amount = base + peak + pay["travel_amount"]
        company = job.company_id or self.env.company
        return {
            "package": package,
            "base_amount": base,
            "travel_amount": pay["travel_amount"],
            "peak_amount": peak,
            "amount": amount,
            "amount_company": currency._convert(amount, company.currency_id, company, fields.Date.context_today(self)),
            "multiplier": multiplier,
            "lines": lines,
        }

    def _crowd_expected_pay(self, expert):
        """Expected pay of ``expert`` for this job now: the best package's rate with the pay rules (plus the
        travel allowance when an offer gives the distance), in the job's company currency."""
        res = super()._crowd_expected_pay(expert)
        self.ensure_one()
        quote = self._crowd_pay_quote(expert, self._crowd_offer_distance(expert))
        return quote["amount_company"] if quote else res

    def _crowd_offer_pay_vals(self, expert, offer_vals, now):
        self.ensure_one()
        quote = self._crowd_pay_quote(expert, offer_vals.get("distance_km") or 0.0, at=now)
        if not quote:
            return dict(super()._crowd_offer_pay_vals(expert, offer_vals, now), pay_multiplier=1.0, pay_lines=False)
        return {
            "expected_pay": quote["amount_company"],
            "pay_multiplier": quote["multiplier"],
            "pay_lines": quote["lines"] or False,
        }

    def _crowd_accepted_offer(self, expert):
        """``expert``'s accepted offer for this job (an empty recordset when there is none)."""
        self.ensure_one()
        # sudo: the pay figures of the offer only
        return self.sudo().offer_ids.filtered(lambda o: o.expert_id == expert and o.state == "accepted")[-1:]

    def _crowd_offer_distance(self, expert):
        """Distance (km) of ``expert``'s offer for this job, preferring an accepted one."""
        self.ensure_one()
        offers = self.sudo().offer_ids.filtered(lambda o: o.expert_id == expert)  # sudo: the distance only
        offers = offers.filtered(lambda o: o.state == "accepted") or offers
        return offers[-1:].distance_km or 0.0

    # ------------------------------------------------------------------ the cost ceiling
    def _crowd_pay_allowed(self):
        """Most an offer of this job may pay without asking (company currency); 0 = no limit."""
        self.ensure_one()
        if not self.cost_ceiling:
            return 0.0
        if self.pay_approval_state == "approved":
            return max(self.cost_ceiling, self.pay_approval_amount)
        return self.cost_ceiling

    def _crowd_hold_offers(self, vals_list, now):
        """Offers whose pay passes the cost ceiling (or the pay approved above it) are not sent: when no
        offer is left, the job waits for a dispatcher's approval (activity, chatter)."""
        vals_list = super()._crowd_hold_offers(vals_list, now)
        self.ensure_one()
        allowed = self._crowd_pay_allowed()
        if not allowed:
            return vals_list
        currency = self.currency_id

        def over(vals):  # a pay boosted by the pay rules or shortage pay beyond what is allowed
            boosted = (vals.get("pay_multiplier") or 1.0) > 1.0
            return boosted and currency.compare_amounts(vals.get("expected_pay") or 0.0, allowed) > 0

        sent = [v for v in vals_list if not over(v)]
        held = [v for v in vals_list if over(v)]
        if held:
            # all held: the job waits for the approval; some held (a broadcast round, where pay differs
            # per expert): the others go out, and the dispatcher is asked all the same, never silently
            experts = self.env["res.partner"].browse([v["expert_id"] for v in held]) if sent else None
            self._crowd_ask_pay_approval(max(v["expected_pay"] for v in held), now, held_experts=experts)
        return sent

    def _crowd_ask_pay_approval(self, amount, now, held_experts=None):
        """System: the next offers would pay ``amount`` (above the ceiling): hold them and ask a
        dispatcher. ``held_experts``: only the offers of these experts are held, the others of the
        round went out (the job does not wait)."""
        self.ensure_one()
        job = self.sudo()  # sudo: the dispatch system writes the approval fields
        if not held_experts:
            job.write(
                {
                    "wait_code": "pay_approval",
                    "wait_params": {"amount": amount, "ceiling": job.cost_ceiling},
                    "wait_until": False,
                    "waiting_expert_id": False,
                }
            )
        if job.pay_approval_state == "needed" and not job.currency_id.compare_amounts(job.pay_approval_amount, amount):
            return  # already asked for this amount
        job.write({"pay_approval_state": "needed", "pay_approval_amount": amount})
        if held_experts:
            message = self.env._(
                "Offers to %(experts)s were not sent: their pay, up to %(amount)s, passes the cost ceiling of "
                "%(ceiling)s. The other offers of the round went out; approving the pay (Approve Pay) or "
                "raising the ceiling lets the next rounds offer it.",
                experts=", ".join(held_experts.sudo().mapped("name")),
                amount=formatLang(self.env, amount, currency_obj=job.currency_id),
                ceiling=formatLang(self.env, job.cost_ceiling, currency_obj=job.currency_id),
            )
        else:
            message = self.env._(
                "The next offer would pay %(amount)s, above the cost ceiling of %(ceiling)s: it is held until a "
                "dispatcher approves the pay (Approve Pay) or raises the ceiling.",
                amount=formatLang(self.env, amount, currency_obj=job.currency_id),
                ceiling=formatLang(self.env, job.cost_ceiling, currency_obj=job.currency_id),
            )
        job.message_post(body=message, subtype_xmlid="mail.mt_note")
        dispatcher = job.rule_id.dispatcher_id or job.company_id.crowd_manager_id
        if dispatcher:
            job.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Approve pay above the cost ceiling"),
                note=message,
                user_id=dispatcher.id,
            )

    def action_approve_pay(self):
        """A dispatcher approves the held pay above the cost ceiling; the job is dispatched again at once."""
        self._crowd_check_dispatcher()
        self.check_access("write")
        now = self._crowd_now()
        for job in self:
            if job.pay_approval_state != "needed" or job.state not in OPEN_DISPATCH_STATES:
                raise UserError(self.env._("Job %(name)s has no pay waiting for approval.", name=job.name))
        for job in self:
            amount = job.pay_approval_amount
            # sudo: a dispatcher's decision, checked above; approval fields are the system's
            job.sudo().write(
                {
                    "pay_approval_state": "approved",
                    "pay_approved_by_id": self.env.uid,
                    "pay_approved_at": now,
                    "wait_code": False,
                    "wait_params": False,
                }
            )
            job.sudo().message_post(
                body=self.env._(
                    "%(user)s approved a pay of up to %(amount)s, above the cost ceiling of %(ceiling)s.",
                    user=self.env.user.name,
                    amount=formatLang(self.env, amount, currency_obj=job.currency_id),
                    ceiling=formatLang(self.env, job.cost_ceiling, currency_obj=job.currency_id),
                ),
                subtype_xmlid="mail.mt_note",
            )
            summary = self.env._("Approve pay above the cost ceiling")
            job.sudo().activity_ids.filtered(lambda a, s=summary: a.summary == s).action_feedback(
                feedback=self.env._("Pay approved")
            )
            job._crowd_dispatch_step(now)
        return True

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
