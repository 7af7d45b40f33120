# pylint: disable=consider-merging-classes-inherited
# (dispatch extension kept apart from the expert-pool file on purpose: one feature per file)
import logging
from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

import crowd_dispatch
from crowd_dispatch.geo import geodesic_km
from crowd_dispatch.model import check_position

_logger = logging.getLogger(__name__)

DISPATCH_STATES = [
    ("new", "New"),
    ("dispatching", "Dispatching"),
    ("offered", "Offered"),
    ("assigned", "Assigned"),
    ("en_route", "En Route"),
    ("on_site", "On Site"),
    ("done", "Done"),
    ("escalated", "Escalated"),
    ("cancelled", "Cancelled"),
]
# state -> states it may move to
TRANSITIONS = {
    "new": {"dispatching", "assigned", "escalated", "cancelled"},
    "dispatching": {"offered", "assigned", "escalated", "cancelled"},
    "offered": {"dispatching", "assigned", "escalated", "cancelled"},
    "assigned": {"dispatching", "en_route", "on_site", "cancelled"},
    "en_route": {"dispatching", "on_site", "cancelled"},
    "on_site": {"done", "cancelled"},
    "escalated": {"dispatching", "assigned", "cancelled"},
    "done": set(),
    "cancelled": set(),
}
STATE_TIMESTAMP = {
    "dispatching": "crowd_dispatched_at",
    "offered": "crowd_offered_at",
    "assigned": "crowd_assigned_at",
    "en_route": "crowd_en_route_at",
    "on_site": "crowd_on_site_at",
    "done": "crowd_done_at",
    "escalated": "crowd_escalated_at",
    "cancelled": "crowd_cancelled_at",
}
OPEN_DISPATCH_STATES = ("dispatching", "offered")
CHECKIN_FAR_KM = 1.0
CRON_BATCH = 200


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    crowd_dispatch_state = fields.Selection(
        DISPATCH_STATES,
        string="Dispatch State",
        default="new",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
        group_expand="_group_expand_crowd_dispatch_state",
        help="Changed only through the dispatch actions, which refuse invalid transitions.",
    )
    crowd_rule_id = fields.Many2one("crowd.dispatch.rule", string="Dispatch Rule", copy=False, check_company=True)
    crowd_requested_at = fields.Datetime("Reported At", copy=False, readonly=True)
    crowd_dispatched_at = fields.Datetime("Dispatched At", copy=False, readonly=True)
    crowd_offered_at = fields.Datetime("Offered At", copy=False, readonly=True)
    crowd_assigned_at = fields.Datetime("Assigned At", copy=False, readonly=True)
    crowd_en_route_at = fields.Datetime("En Route At", copy=False, readonly=True)
    crowd_on_site_at = fields.Datetime("On Site At", copy=False, readonly=True)
    crowd_done_at = fields.Datetime("Done At", copy=False, readonly=True)
    crowd_escalated_at = fields.Datetime("Escalated At", copy=False, readonly=True)
    crowd_cancelled_at = fields.Datetime("Cancelled At", copy=False, readonly=True)
    crowd_next_check_at = fields.Datetime("Next Dispatch Check", copy=False, readonly=True, index=True)
    crowd_dispatch_cycle = fields.Integer(
        "Dispatch Cycle", default=1, copy=False, readonly=True, help="Incremented by each re-dispatch."
    )
    crowd_time_to_door_min = fields.Float(
        "Time to Door (min)", compute="_compute_crowd_time_to_door", store=True, digits=(10, 1)
    )
    crowd_sla_met = fields.Boolean("SLA Met", compute="_compute_crowd_time_to_door", store=True)
    crowd_sla_remaining_min = fields.Integer("SLA Left (min)", compute="_compute_crowd_sla_remaining")
    crowd_expert_id = fields.Many2one(
        "res.partner", string="Assigned Expert", copy=False, tracking=True, index=True, readonly=True
    )
    crowd_offer_ids = fields.One2many("crowd.dispatch.offer", "request_id", string="Offers", copy=False)
    crowd_offer_count = fields.Integer(compute="_compute_crowd_offer_count")
    crowd_eta_at = fields.Datetime("Expected Arrival", copy=False, readonly=True)
    crowd_visit_at = fields.Datetime("Visit", compute="_compute_crowd_visit_at", store=True)
    crowd_checkin_latitude = fields.Float("Check-in Latitude", digits=(10, 7), copy=False, readonly=True)
    crowd_checkin_longitude = fields.Float("Check-in Longitude", digits=(10, 7), copy=False, readonly=True)
    crowd_checkin_distance_km = fields.Float("Check-in Distance (km)", digits=(10, 3), copy=False, readonly=True)
    crowd_checkin_far = fields.Boolean(
        "Checked in Far from Site", copy=False, readonly=True, help=f"More than {CHECKIN_FAR_KM:g} km from the site."
    )
    crowd_report = fields.Html("Visit Report", copy=False)
    crowd_report_attachment_ids = fields.Many2many(
        "ir.attachment",
        "crowd_request_report_attachment_rel",
        "request_id",
        "attachment_id",
        string="Report Photos",
        copy=False,
    )
    crowd_resolution = fields.Text("Resolution", copy=False)
    crowd_cancel_reason = fields.Text("Cancel Reason", copy=False)
    crowd_escalation_reason = fields.Text("Escalation Reason", copy=False)
    crowd_diagnosis = fields.Text("Diagnosis", help="Handed over by the first responder who escalated.")
    crowd_parent_request_id = fields.Many2one(
        "maintenance.request", string="Escalated From", copy=False, index=True, check_company=True
    )
    crowd_followup_ids = fields.One2many("maintenance.request", "crowd_parent_request_id", string="Follow-ups")
    crowd_currency_id = fields.Many2one(related="company_id.currency_id", string="Crowd Currency")
    crowd_cost_ceiling = fields.Monetary(
        "Cost Ceiling", currency_field="crowd_currency_id", help="Maximum cost of the visit; 0 = no ceiling."
    )
    crowd_done_hook_done = fields.Boolean(copy=False, readonly=True)

    _sql_constraints = [
        ("crowd_cost_ceiling_positive", "CHECK(crowd_cost_ceiling >= 0)", "The cost ceiling cannot be negative."),
    ]

    # ------------------------------------------------------------------ computes
    @api.depends("crowd_on_site_at", "crowd_requested_at", "crowd_sla_deadline")
    def _compute_crowd_time_to_door(self):
        for request in self:
            start = request.crowd_requested_at or request.create_date
            if request.crowd_on_site_at and start:
                request.crowd_time_to_door_min = (request.crowd_on_site_at - start).total_seconds() / 60.0
                request.crowd_sla_met = bool(
                    request.crowd_sla_deadline and request.crowd_on_site_at <= request.crowd_sla_deadline
                )
            else:
                request.crowd_time_to_door_min = 0.0
                request.crowd_sla_met = False

    @api.depends("crowd_sla_deadline", "crowd_dispatch_state")
    def _compute_crowd_sla_remaining(self):
        now = self._crowd_now()
        for request in self:
            if request.crowd_sla_deadline and request.crowd_dispatch_state not in ("on_site", "done", "cancelled"):
                request.crowd_sla_remaining_min = int((request.crowd_sla_deadline - now).total_seconds() // 60)
            else:
                request.crowd_sla_remaining_min = 0

    def _compute_crowd_offer_count(self):
        counts = dict(
            self.env["crowd.dispatch.offer"]._read_group([("request_id", "in", self.ids)], ["request_id"], ["__count"])
        )
        for request in self:
            request.crowd_offer_count = counts.get(request, 0)

    @api.depends("crowd_on_site_at", "crowd_eta_at", "crowd_assigned_at")
    def _compute_crowd_visit_at(self):
        for request in self:
            request.crowd_visit_at = request.crowd_on_site_at or request.crowd_eta_at or request.crowd_assigned_at

    @api.model
    def _group_expand_crowd_dispatch_state(self, states, domain):
        return [key for key, _label in DISPATCH_STATES]

    # ------------------------------------------------------------------ hooks and helpers
    def _crowd_now(self):
        """The dispatch clock (naive UTC). Tests patch this method to control time."""
        return fields.Datetime.now()

    def _crowd_sla_minutes(self):
        """SLA response minutes: the matching dispatch rule's value for the request's priority wins."""
        self.ensure_one()
        rule = self.crowd_rule_id or self.env["crowd.dispatch.rule"]._find_for_request(self)
        minutes = rule._sla_minutes(self.priority) if rule else 0
        return minutes or super()._crowd_sla_minutes()

    def _crowd_expected_pay(self, expert):
        """What the expert earns for this job; the payout addon overrides this."""
        return 0.0

    def _crowd_on_done(self):
        """Called exactly once when the visit is done; the payout addon overrides this."""
        return True

    def _crowd_customer(self):
        self.ensure_one()
        return self.crowd_site_id.commercial_partner_id

    def _crowd_state_label(self):
        self.ensure_one()
        return dict(DISPATCH_STATES)[self.crowd_dispatch_state]

    def _crowd_check_actor(self):
        """The assigned expert or a crowd dispatcher may drive the visit."""
        if self.env.su or self.env.user.has_group("crowd_service.group_crowd_user"):
            return
        for request in self:
            if not request.crowd_expert_id or request.crowd_expert_id != self.env.user.partner_id:
                raise AccessError(self.env._("Only the assigned expert or a dispatcher can update this visit."))

    def _crowd_set_state(self, state, now=None, **vals):
        """Move to ``state`` (refusing invalid transitions with a clear error) and stamp its timestamp."""
        now = now or self._crowd_now()
        for request in self:
            current = request.crowd_dispatch_state
            if state not in TRANSITIONS[current]:
                raise UserError(
                    self.env._(
                        "Request %(name)s cannot go from %(current)s to %(target)s.",
                        name=request.name,
                        current=dict(DISPATCH_STATES)[current],
                        target=dict(DISPATCH_STATES)[state],
                    )
                )
            request_vals = dict(vals, crowd_dispatch_state=state)
            if state in STATE_TIMESTAMP:
                request_vals[STATE_TIMESTAMP[state]] = now
            request.write(request_vals)
        return True

    def _crowd_withdraw_pending(self, now):
        self.crowd_offer_ids.filtered(lambda o: o.state == "pending").sudo().write(
            {"state": "withdrawn", "responded_at": now}
        )

    def _crowd_history_offers(self):
        """Offers of the current dispatch cycle (the engine's offer history)."""
        self.ensure_one()
        return self.crowd_offer_ids.filtered(lambda o: o.cycle == self.crowd_dispatch_cycle)

    def _crowd_schedule_check(self, at):
        """Ask the dispatch cron to look at this request again at ``at`` (no busy loop: an exact trigger)."""
        for request in self:
            if not request.crowd_next_check_at or at < request.crowd_next_check_at:
                request.crowd_next_check_at = at
        cron = self.env.ref("crowd_service.ir_cron_crowd_dispatch", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at=max(at, fields.Datetime.now()))

    def _crowd_mark_offered(self, now):
        for request in self:
            if request.crowd_dispatch_state == "dispatching":
                request._crowd_set_state("offered", now=now)

    def _crowd_assign(self, expert, now=None):
        """Assign ``expert``; when the expert is an internal Odoo user, also make him the technician."""
        now = now or self._crowd_now()
        vals = {"crowd_expert_id": expert.id, "crowd_next_check_at": False}
        user = expert.crowd_user_id
        if user and not user.share:
            vals["user_id"] = user.id
        self._crowd_set_state("assigned", now=now, **vals)
        if user:
            self.message_subscribe(partner_ids=expert.ids)
        return True

    def _crowd_escalate(self, reason, now=None):
        """Every round is exhausted (or nobody fits): hand the request to a dispatcher."""
        now = now or self._crowd_now()
        for request in self:
            request._crowd_withdraw_pending(now)
            request._crowd_set_state("escalated", now=now, crowd_escalation_reason=reason, crowd_next_check_at=False)
            request.message_post(
                body=self.env._("Dispatch escalated to a dispatcher: %s", reason), subtype_xmlid="mail.mt_note"
            )
            # the company's crowd manager, else whoever reported the request (internal), else the team
            owner = request.owner_user_id if request.owner_user_id and not request.owner_user_id.share else None
            dispatcher = request.company_id.crowd_manager_id or owner or request.maintenance_team_id.member_ids[:1]
            if dispatcher:
                request.activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=self.env._("Crowd dispatch escalated"),
                    note=reason,
                    user_id=dispatcher.id,
                )
        return True

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        requests = super().create(vals_list)
        now = self._crowd_now()
        for request in requests:
            vals = {}
            if not request.crowd_requested_at:
                vals["crowd_requested_at"] = now
            if not request.crowd_rule_id:
                rule = self.env["crowd.dispatch.rule"]._find_for_request(request)
                if rule:
                    vals["crowd_rule_id"] = rule.id
            if vals:
                request.write(vals)
            if request.crowd_rule_id and not any("crowd_sla_deadline" in v for v in vals_list):
                # same start as the SLA compute of the expert pool, now with the rule's minutes
                request.crowd_sla_deadline = (request.create_date or now) + timedelta(
                    minutes=request._crowd_sla_minutes()
                )
        if not self.env.context.get("crowd_no_auto_dispatch"):
            for request in requests:
                if (
                    request.crowd_rule_id.auto_dispatch
                    and request.crowd_dispatch_state == "new"
                    and (request.crowd_latitude or request.crowd_longitude)
                ):
                    # a dispatch problem must not prevent reporting the request: hand it to a dispatcher
                    try:
                        with self.env.cr.savepoint():
                            request._crowd_dispatch_step(now)
                    except UserError as exc:
                        request._crowd_escalate(str(exc), now=now)
        return requests

    # ------------------------------------------------------------------ dispatch
    def _crowd_dispatch_step(self, now=None):
        """One engine decision for this request (start dispatching when new)."""
        self.ensure_one()
        now = now or self._crowd_now()
        request = self.with_company(self.company_id)
        if request.crowd_dispatch_state in ("new", "escalated"):
            request._crowd_set_state("dispatching", now=now)
        if request.crowd_dispatch_state not in OPEN_DISPATCH_STATES:
            return False
        if not request.crowd_rule_id:
            rule = self.env["crowd.dispatch.rule"]._find_for_request(request)
            if rule:
                request.crowd_rule_id = rule
        return self.env["crowd.dispatch.engine"]._dispatch(request, now)

    def action_crowd_dispatch(self):
        """Dispatch now: ask the engine for offers immediately."""
        self._crowd_check_dispatcher()
        now = self._crowd_now()
        for request in self:
            if request.crowd_dispatch_state not in ("new", "escalated", *OPEN_DISPATCH_STATES):
                raise UserError(
                    self.env._(
                        "Request %(name)s is %(state)s: use Re-dispatch to start again.",
                        name=request.name,
                        state=request._crowd_state_label(),
                    )
                )
            request._crowd_dispatch_step(now)
        return True

    def action_crowd_redispatch(self):
        """Start a new dispatch cycle: withdraw open offers, release the expert, rank again."""
        self._crowd_check_dispatcher()
        now = self._crowd_now()
        for request in self:
            if request.crowd_dispatch_state not in ("offered", "dispatching", "assigned", "en_route", "escalated"):
                raise UserError(
                    self.env._(
                        "Request %(name)s cannot be re-dispatched while %(state)s.",
                        name=request.name,
                        state=request._crowd_state_label(),
                    )
                )
            request._crowd_withdraw_pending(now)
            request.crowd_offer_ids.filtered(lambda o: o.state == "accepted").sudo().write(
                {"state": "withdrawn", "responded_at": now}
            )
            vals = {"crowd_dispatch_cycle": request.crowd_dispatch_cycle + 1, "crowd_next_check_at": False}
            if request.crowd_expert_id:
                vals.update(crowd_expert_id=False, crowd_eta_at=False)
            if request.crowd_dispatch_state != "dispatching":
                request._crowd_set_state("dispatching", now=now, **vals)
            else:
                request.write(vals)
            request.message_post(body=self.env._("Re-dispatched (cycle %s).", vals["crowd_dispatch_cycle"]))
            request._crowd_dispatch_step(now)
        return True

    def _crowd_check_dispatcher(self):
        if not (self.env.su or self.env.user.has_group("crowd_service.group_crowd_user")):
            raise AccessError(self.env._("Only crowd dispatchers can dispatch requests."))

    def action_crowd_assign_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Assign an Expert"),
            "res_model": "crowd.assign.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    def _crowd_assign_manual(self, expert):
        """A dispatcher assigns ``expert`` directly (open offers are withdrawn)."""
        self._crowd_check_dispatcher()
        now = self._crowd_now()
        for request in self:
            request._crowd_withdraw_pending(now)
            request._crowd_assign(expert, now=now)
            request.message_post(
                body=self.env._("%s assigned manually by a dispatcher.", expert.name), subtype_xmlid="mail.mt_note"
            )
        return True

    def action_view_crowd_offers(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Offers"),
            "res_model": "crowd.dispatch.offer",
            "view_mode": "list,form",
            "domain": [("request_id", "=", self.id)],
            "context": {"default_request_id": self.id},
        }

    # ------------------------------------------------------------------ visit lifecycle
    def action_crowd_en_route(self, eta_minutes):
        self._crowd_check_actor()
        if eta_minutes is None or eta_minutes < 0:
            raise ValidationError(self.env._("The ETA must be a non-negative number of minutes."))
        now = self._crowd_now()
        self._crowd_set_state("en_route", now=now, crowd_eta_at=now + timedelta(minutes=eta_minutes))
        return True

    def action_crowd_check_in(self, lat, lon):
        """The expert is on site: record the position and flag a check-in far from the site."""
        self.ensure_one()
        self._crowd_check_actor()
        try:
            check_position("check_in", lat, lon)
        except crowd_dispatch.InvalidInput as exc:
            raise ValidationError(self.env._("Invalid check-in position: %s", exc.message)) from exc
        now = self._crowd_now()
        vals = {"crowd_checkin_latitude": lat, "crowd_checkin_longitude": lon}
        if self.crowd_latitude or self.crowd_longitude:
            distance = geodesic_km(lat, lon, self.crowd_latitude, self.crowd_longitude)
            vals.update(crowd_checkin_distance_km=distance, crowd_checkin_far=distance > CHECKIN_FAR_KM)
        self._crowd_set_state("on_site", now=now, **vals)
        if vals.get("crowd_checkin_far"):
            self.message_post(
                body=self.env._("Check-in %.2f km away from the site.", vals["crowd_checkin_distance_km"]),
                subtype_xmlid="mail.mt_note",
            )
        return True

    def action_crowd_report(self, notes, attachment_ids=None):
        self.ensure_one()
        self._crowd_check_actor()
        if self.crowd_dispatch_state not in ("on_site", "done"):
            raise UserError(self.env._("A visit report can only be written on site or after the visit."))
        vals = {"crowd_report": notes}
        if attachment_ids:
            vals["crowd_report_attachment_ids"] = [Command.link(aid) for aid in attachment_ids]
        self.write(vals)
        self.message_post(body=notes, attachment_ids=list(attachment_ids or []), subtype_xmlid="mail.mt_note")
        return True

    def action_crowd_complete(self, resolution=None):
        self._crowd_check_actor()
        now = self._crowd_now()
        self._crowd_set_state("done", now=now, crowd_resolution=resolution or False)
        done_stage = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        for request in self:
            if done_stage and request.stage_id != done_stage:
                request.stage_id = done_stage
            if not request.crowd_done_hook_done:
                request.crowd_done_hook_done = True
                request._crowd_on_done()
        return True

    def action_crowd_cancel(self, reason):
        self._crowd_check_dispatcher()
        if not reason:
            raise UserError(self.env._("Say why the visit is cancelled."))
        now = self._crowd_now()
        for request in self:
            request._crowd_withdraw_pending(now)
            request._crowd_set_state("cancelled", now=now, crowd_cancel_reason=reason, crowd_next_check_at=False)
        return True

    def action_crowd_escalate_specialist(self, diagnosis, required_skills=None):
        """A first responder hands over to a specialist: a linked follow-up request carrying the diagnosis,
        minimum tier specialist (and ``required_skills`` {skill_id: level_id} raised), dispatched at once."""
        self.ensure_one()
        self._crowd_check_actor()
        if not diagnosis:
            raise UserError(self.env._("Write the diagnosis for the specialist."))
        if self.crowd_dispatch_state not in ("on_site", "done"):
            raise UserError(self.env._("Escalate to a specialist after checking in on site."))
        # sudo: the actor was checked; experts cannot create requests themselves
        request = self.sudo()
        followup = request.with_context(crowd_no_auto_dispatch=True).copy(
            {
                "name": self.env._("Specialist: %s", request.name),
                "crowd_parent_request_id": request.id,
                "crowd_diagnosis": diagnosis,
                "crowd_min_tier": "specialist",
                "crowd_rule_id": request.crowd_rule_id.id,
                "crowd_cost_ceiling": request.crowd_cost_ceiling,
            }
        )
        followup._crowd_raise_required_skills(request, required_skills or {})
        request.message_post(body=self.env._("Escalated to a specialist: %s", diagnosis), subtype_xmlid="mail.mt_note")
        if request.crowd_dispatch_state == "on_site":
            request.action_crowd_complete(self.env._("Diagnosed, escalated to a specialist: %s", diagnosis))
        if followup.crowd_latitude or followup.crowd_longitude:
            followup._crowd_dispatch_step()
        return followup

    def _crowd_raise_required_skills(self, parent, required_skills):
        """Required skills of this specialist follow-up: the parent's, raised/extended by the diagnosis
        (``required_skills`` {skill_id: level_id}); the engine's ``escalate_to_specialist`` merges them."""
        Required = self.env["crowd.required.skill"].sudo()
        Level = self.env["crowd.skill.level"].sudo()
        parent_lines = parent.crowd_required_skill_ids
        candidates = {}  # skill -> level records the merged level may come from
        for line in parent_lines:
            candidates.setdefault(line.skill_id, Level)
            candidates[line.skill_id] |= line.min_level_id
        engine = self.env["crowd.dispatch.engine"]
        diagnosis_levels = {}
        for skill_id, level_id in required_skills.items():
            skill, level = self.env["crowd.skill"].sudo().browse(skill_id), Level.browse(level_id)
            candidates[skill] = candidates.get(skill, Level) | level
            diagnosis_levels[skill] = level
        # the engine speaks level ranks (see crowd.dispatch.engine._level_ranks)
        ranks = engine._level_ranks(Level.union(*candidates.values()))
        diagnosis = {skill.code: ranks.get(level.id, 0) for skill, level in diagnosis_levels.items()}
        merged = engine._specialist_skills(parent, diagnosis)
        vals_list = []
        for skill, levels in candidates.items():
            rank = merged.get(skill.code, 0)
            level = (
                levels.filtered(lambda lv, r=rank: ranks.get(lv.id, 0) == r)[:1] or levels.sorted("level_progress")[-1:]
            )
            vals_list.append({"request_id": self.id, "skill_id": skill.id, "min_level_id": level.id})
        self.crowd_required_skill_ids.sudo().unlink()
        Required.create(vals_list)

    # ------------------------------------------------------------------ cron
    @api.model
    def _cron_crowd_dispatch(self, limit=CRON_BATCH, request_ids=None):
        """Expire due offers and run the next round of due requests.

        Idempotent and safe with several workers: each due request is row-locked with SKIP LOCKED
        (requests before offers, the same order as an acceptance) and handled by exactly one worker.
        ``request_ids`` restricts the run to these requests (tests, manual runs).
        """
        now = self._crowd_now()
        self.env["maintenance.request"].flush_model(["crowd_dispatch_state", "crowd_next_check_at"])
        self.env["crowd.dispatch.offer"].flush_model(["state", "expires_at"])
        self.env.cr.execute(
            SQL(
                """SELECT r.id FROM maintenance_request r
                    WHERE r.crowd_dispatch_state IN %s
                      AND (r.crowd_next_check_at <= %s
                           OR EXISTS (SELECT 1 FROM crowd_dispatch_offer o
                                       WHERE o.request_id = r.id AND o.state = 'pending' AND o.expires_at <= %s))
                      AND (%s IS NULL OR r.id = ANY(%s))
                    ORDER BY r.crowd_next_check_at NULLS FIRST, r.id
                    LIMIT %s
                    FOR UPDATE OF r SKIP LOCKED""",
                OPEN_DISPATCH_STATES,
                now,
                now,
                None if request_ids is None else True,
                list(request_ids or []),
                limit,
            )
        )
        requests = self.browse([row[0] for row in self.env.cr.fetchall()])
        for request in requests:
            request = request.with_company(request.company_id)
            due = request.crowd_offer_ids.filtered(
                lambda o: o.state == "pending" and o.expires_at and o.expires_at <= now
            )
            due.write({"state": "expired"})
            request.crowd_next_check_at = False
            try:
                with self.env.cr.savepoint():
                    request._crowd_dispatch_step(now)
            except UserError as exc:
                _logger.warning("Crowd dispatch of request %s failed: %s", request.id, exc)
                request._crowd_escalate(str(exc), now=now)
        # a full batch may leave more due requests: the cron runner then calls again at once
        self.env["ir.cron"]._notify_progress(done=len(requests), remaining=int(len(requests) >= limit))
        return len(requests)
