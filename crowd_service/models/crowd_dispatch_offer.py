import logging

from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .crowd_vocabulary import CROWD_POOLS, CROWD_TIERS

_logger = logging.getLogger(__name__)

OFFER_STATES = [
    ("pending", "Pending"),
    ("accepted", "Accepted"),
    ("declined", "Declined"),
    ("expired", "Expired"),
    ("withdrawn", "Withdrawn"),
]


class CrowdDispatchOffer(models.Model):
    """One offer of one job to one expert. At most one accepted offer per job (database-enforced)."""

    _name = "crowd.dispatch.offer"
    _description = "Crowd Dispatch Offer"
    _order = "job_id desc, round, rank, id"
    _check_company_auto = True

    job_id = fields.Many2one(
        "crowd.job", required=True, ondelete="cascade", index=True, readonly=True, check_company=True
    )
    request_id = fields.Many2one(related="job_id.request_id", store=True, index=True, string="Request")
    company_id = fields.Many2one(related="job_id.company_id", store=True, index=True)
    expert_id = fields.Many2one("res.partner", string="Expert", required=True, index=True, readonly=True)
    round = fields.Integer(default=1, readonly=True)
    rank = fields.Integer(default=1, readonly=True)
    score = fields.Float(digits=(6, 4), readonly=True)
    score_breakdown = fields.Json(readonly=True)
    explanation = fields.Text(compute="_compute_explanation", help="Why this expert, in the reader's language.")
    distance_km = fields.Float("Distance (km)", digits=(10, 2), readonly=True)
    eta_min = fields.Float("ETA (min)", digits=(10, 1), readonly=True)
    expert_pool = fields.Selection(CROWD_POOLS, readonly=True)
    tier = fields.Selection(CROWD_TIERS, readonly=True)
    reason_codes = fields.Json(readonly=True, help="The engine's reasons as (code, parameters).")
    currency_id = fields.Many2one(related="job_id.company_id.currency_id")
    expected_pay = fields.Monetary(currency_field="currency_id", readonly=True)
    pay_multiplier = fields.Float(
        "Pay Multiplier",
        digits=(6, 4),
        default=1.0,
        readonly=True,
        help="Multiplier of the package rate from the pay rules and shortage pay (1 = the plain rate).",
    )
    pay_lines = fields.Json(readonly=True, help="The extra pay of the offer: rules, shortage pay, cap (technical).")
    pay_label = fields.Char(
        "Extra Pay", compute="_compute_pay_label", help="The extra pay of the offer and why, e.g. '+30% night'."
    )
    state = fields.Selection(OFFER_STATES, default="pending", required=True, index=True, readonly=True)
    sent_at = fields.Datetime(readonly=True)
    expires_at = fields.Datetime(readonly=True, index=True)
    responded_at = fields.Datetime(readonly=True)
    decline_reason = fields.Text(readonly=True)
    mail_pending = fields.Boolean(
        readonly=True, copy=False, help="Technical: the chatter/e-mail notification is still queued."
    )
    divert_job_id = fields.Many2one(
        "crowd.job",
        "Diverts From",
        readonly=True,
        check_company=True,
        index="btree_not_null",
        ondelete="set null",
        help="The visit the expert is on the way to: accepting this more urgent offer leaves it, and it goes out "
        "to another expert at once (the dispatch policy's diversion).",
    )
    # shown to the expert: what and where (no access to the request needed)
    request_name = fields.Char(related="job_id.request_id.name", string="Request Subject")
    request_priority = fields.Selection(related="job_id.priority")

    _sql_constraints = [
        (
            "job_expert_round_uniq",
            "unique(job_id, expert_id, round)",
            "One offer per expert and round.",
        ),
        ("rank_positive", "CHECK(rank >= 1)", "The rank starts at 1."),
    ]

    def init(self):
        # a public name, so callable over RPC: only the registry (as superuser) runs schema hooks
        if not self.env.su:
            raise AccessError(self.env._("Schema hooks run at install and update only."))
        # Exactly once: the database refuses a second accepted offer for the same job.
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS crowd_dispatch_offer_one_accepted
               ON crowd_dispatch_offer (job_id) WHERE state = 'accepted'"""
        )

    @api.model_create_multi
    def create(self, vals_list):
        """Offers are made by the dispatch engine (as the system); whoever else may create one (crowd
        managers, by access rights) makes a pending offer that the expert still has to answer."""
        if not self.env.su and any(
            vals.get("state", "pending") != "pending"
            or vals.get("responded_at")
            or vals.get("decline_reason")
            or vals.get("divert_job_id")
            for vals in vals_list
        ):
            raise AccessError(self.env._("A new offer is pending: the expert answers it."))
        return super().create(vals_list)

    def write(self, vals):
        """An offer changes through its answers (accept, decline) and the dispatch, which write as the system:
        nobody edits its state, expert, pay or timing by hand."""
        if not self.env.su:
            raise AccessError(self.env._("Offers change only when the expert answers or the dispatch moves on."))
        return super().write(vals)

    @api.depends("reason_codes")
    @api.depends_context("lang")
    def _compute_explanation(self):
        engine = self.env["crowd.dispatch.engine"]
        for offer in self:
            offer.explanation = engine._reasons_text(offer.reason_codes)

    @api.depends("pay_lines")
    @api.depends_context("lang")
    def _compute_pay_label(self):
        engine = self.env["crowd.dispatch.engine"]
        for offer in self:
            offer.pay_label = engine._pay_lines_text(offer.pay_lines)

    @api.depends("expert_id", "request_name")
    def _compute_display_name(self):
        for offer in self:
            # request_name is a related field (read as superuser): experts cannot read requests
            offer.display_name = f"{offer.request_name or ''} → {offer.expert_id.sudo().name or ''}"

    # ------------------------------------------------------------------ responses
    def _crowd_check_responder(self):
        """Raise unless the current user may answer this offer: the expert it was made to, or a crowd
        dispatcher recording the expert's answer (given on the phone)."""
        self.ensure_one()
        self.check_access("read")
        if self.env.su or self.env.user.has_group("crowd_service.group_crowd_user"):
            return
        if self.expert_id != self.env.user.partner_id:
            raise AccessError(self.env._("This offer was made to someone else; you cannot answer it."))

    def _crowd_lock_job(self):
        """Row-lock the offer's job (NOWAIT): a concurrent answer gets a clear error instead of waiting."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM crowd_job WHERE id = %s FOR UPDATE NOWAIT",
                    [self.job_id.id],
                    log_exceptions=False,
                )
        except pg_errors.LockNotAvailable:
            raise UserError(
                self.env._("Another answer for this job is being processed right now; please try again.")
            ) from None
        # re-read what another transaction may have committed before we got the lock
        self.invalidate_recordset()
        self.job_id.invalidate_recordset()

    def _crowd_check_pending(self, now):
        self.ensure_one()
        if self.state == "accepted":
            raise UserError(self.env._("This offer is already accepted."))
        if self.state != "pending":
            raise UserError(
                self.env._(
                    "This offer is %(state)s and can no longer be answered.",
                    state=dict(self._fields["state"]._description_selection(self.env))[self.state].lower(),
                )
            )
        if self.expires_at and self.expires_at <= now:
            raise UserError(self.env._("This offer expired at %s UTC.", self.expires_at))

    def action_accept(self):
        """Accept the offer: first valid acceptance wins, exactly once; the other offers are withdrawn."""
        self.ensure_one()
        self._crowd_check_responder()
        # sudo: the responder was checked above; experts have no write access on offers and requests
        offer = self.sudo()
        offer._crowd_lock_job()
        job = offer.job_id
        now = job._crowd_now()
        offer._crowd_check_pending(now)
        if job.state not in ("dispatching", "offered"):
            raise UserError(self.env._("This job is no longer open for offers (it is %s).", job._crowd_state_label()))
        left = offer.divert_job_id
        if left:
            left._crowd_lock_for_divert(offer.expert_id)
        offer.flush_recordset()
        try:
            with self.env.cr.savepoint(flush=False):
                # the partial unique index is the last guard: a second accepted offer is refused by the database
                self.env.cr.execute(
                    """UPDATE crowd_dispatch_offer
                          SET state = 'accepted', responded_at = %s, write_date = %s, write_uid = %s
                        WHERE id = %s AND state = 'pending'""",
                    [now, fields.Datetime.now(), self.env.uid, offer.id],
                    log_exceptions=False,
                )
                if self.env.cr.rowcount != 1:
                    raise UserError(self.env._("This offer can no longer be accepted."))
        except pg_errors.UniqueViolation:
            raise UserError(self.env._("Another expert already accepted this job.")) from None
        offer.invalidate_recordset(["state", "responded_at", "write_date", "write_uid"])
        (job.offer_ids.filtered(lambda o: o.state == "pending") - offer)._crowd_set_state("withdrawn", now)
        if left:
            left._crowd_release_diverted(job, now)
        job._crowd_assign(offer.expert_id, now=now)
        if left:
            left._crowd_redecide_now(now)  # now that the expert holds this job, the visit left goes to another
        job.message_post(
            body=self.env._(
                "%(expert)s accepted the offer (round %(round)s).", expert=offer.expert_id.name, round=offer.round
            ),
            subtype_xmlid="mail.mt_note",
        )
        offer.expert_id._bus_send("crowd_offer", offer._crowd_bus_payload())
        return True

    def action_decline(self, reason=None):
        """Decline the offer; the request moves on to the next candidates."""
        self.ensure_one()
        self._crowd_check_responder()
        # sudo: the responder was checked above; experts have no write access on offers
        offer = self.sudo()
        offer._crowd_lock_job()
        if reason is not None and not isinstance(reason, str):
            raise ValidationError(self.env._("The reason is a text."))
        job = offer.job_id
        now = job._crowd_now()
        offer._crowd_check_pending(now)
        offer.write({"state": "declined", "responded_at": now, "decline_reason": (reason or "")[:2000] or False})
        if reason:
            body = self.env._("%(expert)s declined the offer: %(reason)s", expert=offer.expert_id.name, reason=reason)
        else:
            body = self.env._("%(expert)s declined the offer.", expert=offer.expert_id.name)
        job.message_post(body=body, subtype_xmlid="mail.mt_note")
        if not job.offer_ids.filtered(lambda o: o.state == "pending"):
            job._crowd_schedule_check(now)
        # the expert holds no offer any more: jobs waiting for a free expert nearby are decided again
        job._crowd_wake_waiting(job.company_id, now, job.latitude, job.longitude)
        return True

    def _crowd_set_state(self, state, now):
        """System: close offers (withdrawn, expired) when the dispatch moves on."""
        if self:
            # sudo: offers are closed by the dispatch system, whoever triggered it
            self.sudo().write({"state": state, "responded_at": now})
        return True

    # ------------------------------------------------------------------ notifications
    def _crowd_bus_payload(self):
        self.ensure_one()
        return {
            "offer_id": self.id,
            "job_id": self.job_id.id,
            "request_name": self.request_name,
            "state": self.state,
            "round": self.round,
            "rank": self.rank,
            "distance_km": round(self.distance_km, 2),
            "eta_min": round(self.eta_min, 1),
            "expected_pay": self.expected_pay,
            "pay_multiplier": self.pay_multiplier,
            "pay_label": self.pay_label or "",
            "currency": self.currency_id.name,
            "expires_at": fields.Datetime.to_string(self.expires_at) if self.expires_at else None,
        }

    def _crowd_notify(self):
        """Tell each expert about a new offer.

        At once: an Odoo bus notification to the expert (sent when the dispatch commits). Queued for
        the notification cron, triggered immediately: the chatter message with the mail template and
        the company's push webhook (rendering, e-mail and a slow or dead endpoint never delay the
        dispatch nor the user who triggered it).
        """
        for offer in self:
            offer.expert_id._bus_send("crowd_offer", offer._crowd_bus_payload())
        self.write({"mail_pending": True})
        cron = self.env.ref("crowd_service.ir_cron_crowd_offer_notify", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    def _crowd_post_offer_messages(self):
        """Chatter message (mail template, one rendering pass for the batch) to each offer's expert, and
        the push webhook delivery (queued, sent by its own cron)."""
        template = self.env.ref("crowd_service.mail_template_crowd_offer", raise_if_not_found=False)
        bodies, subjects = {}, {}
        if template and self:
            bodies = template._render_field("body_html", self.ids, compute_lang=True)
            subjects = template._render_field("subject", self.ids, compute_lang=True)
        for offer in self:
            offer.job_id.message_post(
                body=bodies.get(offer.id) or offer.explanation or "",
                subject=subjects.get(offer.id) or offer.job_id.name,
                partner_ids=offer.expert_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            # a crowd.webhook.delivery in this transaction, sent by the webhook cron
            offer.job_id.company_id._crowd_webhook_queue("offer.created", offer._crowd_bus_payload())
        self.write({"mail_pending": False})

    @api.model
    def _cron_crowd_offer_notify(self, limit=500):
        """Post the queued offer messages; safe with several workers (rows locked with SKIP LOCKED)."""
        self.flush_model(["mail_pending"])
        self.env.cr.execute(
            "SELECT id FROM crowd_dispatch_offer WHERE mail_pending ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            [limit],
        )
        offers = self.browse([row[0] for row in self.env.cr.fetchall()])
        # an offer answered or withdrawn before its message went out needs no message any more
        (offers - offers.filtered(lambda o: o.state == "pending")).write({"mail_pending": False})
        offers.filtered(lambda o: o.state == "pending")._crowd_post_offer_messages()
        self.env["ir.cron"]._notify_progress(done=len(offers), remaining=int(len(offers) >= limit))
        return len(offers)
