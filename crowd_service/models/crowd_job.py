"""One visit of a maintenance request: dispatch, expert, offers, visit, report, rating and SLA.

A maintenance request keeps the customer's problem, the asset, the team and Odoo's stage; each of
its visits is a ``crowd.job``. A first responder's escalation adds a specialist job to the same
request, so the customer keeps one ticket. Every public method checks who acts, the state and the
input itself: a portal page, an RPC call, a cron and a backend button meet the same checks.
"""

import logging
import math
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.tools import SQL, clean_context

import crowd_dispatch
from crowd_dispatch.geo import KM_PER_DEGREE_LAT, geodesic_km
from crowd_dispatch.model import check_position
from crowd_dispatch.policy import offers_to_withdraw

from .crowd_dispatch_rule import DEFAULT_PLANNED_DURATION_MIN, MAX_PLANNED_DURATION_MIN
from .crowd_vocabulary import CROWD_TIERS

_logger = logging.getLogger(__name__)

JOB_STATES = [
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
    "assigned": {"en_route", "cancelled"},
    "en_route": {"on_site", "cancelled"},
    "on_site": {"done", "cancelled"},
    "escalated": {"dispatching", "assigned", "cancelled"},
    "done": set(),
    "cancelled": set(),
}
STATE_TIMESTAMP = {
    "dispatching": "dispatched_at",
    "offered": "offered_at",
    "assigned": "assigned_at",
    "en_route": "en_route_at",
    "on_site": "on_site_at",
    "done": "done_at",
    "escalated": "escalated_at",
    "cancelled": "cancelled_at",
}
OPEN_DISPATCH_STATES = ("dispatching", "offered")
# open for dispatch: the states a dispatcher may dispatch from or assign someone in
DISPATCHABLE_STATES = ("new", "escalated", *OPEN_DISPATCH_STATES)
URGENT_PRIORITY = "3"  # maintenance.request's highest priority: dispatched on its own, never in a batch
BATCH_LIMIT = 1000  # waiting jobs in one batch assignment (the oldest first)
ACTIVE_VISIT_STATES = ("assigned", "en_route", "on_site")
CLOSED_STATES = ("done", "cancelled")
CHECKIN_FAR_KM = 1.0
MAX_ETA_MINUTES = 24 * 60
MAX_TEXT = 10000
CRON_BATCH = 200
REPORT_MIMETYPES = ("image/jpeg", "image/png", "application/pdf")
WAIT_STATES = [
    ("pending", "Offers pending"),
    ("lookahead", "Waiting for an expert finishing nearby"),
    ("deferred", "Deferred while few experts are free"),
    ("no_candidate", "Waiting for a qualified expert"),
]
# a freed expert wakes the waiting jobs within this distance of where they are (km)
WAKE_RADIUS_KM = 100.0
MAX_ID = 2**31 - 1  # PostgreSQL integer: a larger id is unknown, never a database error


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class CrowdJob(models.Model):
    _name = "crowd.job"
    _description = "Crowd Service Job"
    _inherit = ["portal.mixin", "rating.mixin", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True, copy=False, default="/", index="trigram")
    request_id = fields.Many2one(
        "maintenance.request",
        string="Request",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="request_id.company_id", store=True, index=True, precompute=True)
    equipment_id = fields.Many2one(related="request_id.equipment_id", store=True, string="Equipment")
    priority = fields.Selection(related="request_id.priority", store=True, string="Priority")
    maintenance_type = fields.Selection(related="request_id.maintenance_type", store=True, string="Maintenance Type")
    # planned work: when the customer's site is open for the visit (Plan day's time window)
    visit_window_start = fields.Datetime(
        "Site Open From",
        tracking=True,
        help="Planned work: the visit may start from this moment (the customer's site availability). Plan day "
        "plans the visit on this day; without it, on the request's scheduled day.",
    )
    visit_window_end = fields.Datetime(
        "Site Open Until", tracking=True, help="Planned work: the visit must start by this moment."
    )
    # groups: route stops are the dispatchers' and their technicians' (portal); other employees read jobs
    route_stop_ids = fields.One2many(
        "crowd.route.stop",
        "job_id",
        string="Route Stop",
        readonly=True,
        groups="crowd_service.group_crowd_user,base.group_portal",
    )
    kind = fields.Selection(
        [("first", "First Visit"), ("specialist", "Specialist Follow-up")],
        default="first",
        required=True,
        readonly=True,
    )
    parent_job_id = fields.Many2one("crowd.job", string="Escalated From", readonly=True, index=True, copy=False)
    followup_ids = fields.One2many("crowd.job", "parent_job_id", string="Follow-ups")
    diagnosis = fields.Text(readonly=True, help="Handed over by the first responder who escalated.")
    # where and what: copied from the request when the job is created, then the job's own
    site_id = fields.Many2one("res.partner", string="Service Site", readonly=True)
    customer_id = fields.Many2one(
        "res.partner", string="Customer", compute="_compute_customer_id", store=True, index=True
    )
    latitude = fields.Float(digits=(10, 7), readonly=True)
    longitude = fields.Float(digits=(10, 7), readonly=True)
    required_skill_ids = fields.One2many("crowd.required.skill", "job_id", string="Required Skills", readonly=True)
    certificate_type_ids = fields.Many2many(
        "crowd.certificate.type",
        "crowd_job_certificate_type_rel",
        "job_id",
        "type_id",
        string="Required Certificates",
        readonly=True,
    )
    min_tier = fields.Selection(CROWD_TIERS, string="Minimum Tier", readonly=True)
    sla_deadline = fields.Datetime("SLA Deadline", readonly=True, tracking=True)
    # dispatch
    state = fields.Selection(
        JOB_STATES,
        default="new",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
        group_expand="_group_expand_state",
        help="Changed only through the job's actions, which refuse invalid transitions.",
    )
    rule_id = fields.Many2one("crowd.dispatch.rule", string="Dispatch Rule", readonly=True, check_company=True)
    requested_at = fields.Datetime("Reported At", readonly=True)
    dispatched_at = fields.Datetime(readonly=True)
    offered_at = fields.Datetime(readonly=True)
    assigned_at = fields.Datetime(readonly=True)
    en_route_at = fields.Datetime("En Route At", readonly=True)
    on_site_at = fields.Datetime("On Site At", readonly=True)
    done_at = fields.Datetime(readonly=True)
    escalated_at = fields.Datetime(readonly=True)
    cancelled_at = fields.Datetime(readonly=True)
    next_check_at = fields.Datetime("Next Dispatch Check", readonly=True, index=True)
    time_to_door_min = fields.Float("Time to Door (min)", compute="_compute_time_to_door", store=True, digits=(10, 1))
    sla_met = fields.Boolean("SLA Met", compute="_compute_time_to_door", store=True)
    sla_remaining_min = fields.Integer("SLA Left (min)", compute="_compute_sla_remaining")
    expert_id = fields.Many2one("res.partner", string="Expert", readonly=True, tracking=True, index=True)
    offer_ids = fields.One2many("crowd.dispatch.offer", "job_id", string="Offers", readonly=True)
    offer_count = fields.Integer(compute="_compute_offer_count")
    # visit
    eta_at = fields.Datetime("Expected Arrival", readonly=True)
    visit_at = fields.Datetime("Visit", compute="_compute_visit_at", store=True)
    checkin_latitude = fields.Float("Check-in Latitude", digits=(10, 7), readonly=True)
    checkin_longitude = fields.Float("Check-in Longitude", digits=(10, 7), readonly=True)
    checkin_distance_km = fields.Float("Check-in Distance (km)", digits=(10, 3), readonly=True)
    checkin_far = fields.Boolean(
        "Checked in Far from Site", readonly=True, help=f"More than {CHECKIN_FAR_KM:g} km from the site."
    )
    report = fields.Html("Visit Report", readonly=True, sanitize=True)
    report_attachment_ids = fields.Many2many(
        "ir.attachment",
        "crowd_job_report_attachment_rel",
        "job_id",
        "attachment_id",
        string="Report Photos",
        readonly=True,
    )
    resolution = fields.Text(readonly=True)
    cancel_reason = fields.Text(readonly=True)
    escalation_reason = fields.Text(readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    cost_ceiling = fields.Monetary(
        currency_field="currency_id", help="Maximum cost of the visit; 0 = no ceiling.", tracking=True
    )
    done_hook_done = fields.Boolean(readonly=True, copy=False)
    # dispatch policy: planned end of the visit (an expert on it is busy until then), why the job waits
    planned_duration_min = fields.Float(
        "Planned Visit (min)",
        default=DEFAULT_PLANNED_DURATION_MIN,
        tracking=True,
        help="Planned time on site: the request's duration when it has one, else the dispatch rule's "
        "planned visit (60 min without a rule). The expert is busy until arrival plus this.",
    )
    planned_end_at = fields.Datetime(
        "Planned End",
        compute="_compute_planned_end_at",
        store=True,
        help="Arrival (on site, else the expected arrival, else assignment plus the offer's travel time) "
        "plus the planned visit: the dispatch considers the expert busy until then.",
    )
    wait_code = fields.Selection(WAIT_STATES, "Waiting", readonly=True, copy=False, index=True)
    wait_params = fields.Json(readonly=True, copy=False, help="The engine's parameters of the wait (technical).")
    wait_until = fields.Datetime("Waits Until", readonly=True, copy=False)
    waiting_expert_id = fields.Many2one(
        "res.partner",
        string="Waiting For",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The expert finishing nearby this job waits for (not offered to other jobs meanwhile).",
    )
    wait_reason = fields.Char("Why It Waits", compute="_compute_wait_reason")
    dispatch_override = fields.Boolean(
        "Dispatched Now",
        readonly=True,
        copy=False,
        help="A dispatcher chose Dispatch now: no deferral and no look-ahead for this visit.",
    )

    _sql_constraints = [
        ("cost_ceiling_positive", "CHECK(cost_ceiling >= 0)", "The cost ceiling cannot be negative."),
        (
            "visit_window_order",
            "CHECK(visit_window_end IS NULL OR visit_window_start IS NULL OR visit_window_end >= visit_window_start)",
            "The site's availability must end after it starts.",
        ),
        (
            "planned_duration_range",
            f"CHECK(planned_duration_min >= 0 AND planned_duration_min <= {MAX_PLANNED_DURATION_MIN})",
            "The planned visit lasts from 0 minutes to a day.",
        ),
    ]

    # ------------------------------------------------------------------ computes
    @api.depends("site_id")
    def _compute_customer_id(self):
        for job in self:
            job.customer_id = job.site_id.commercial_partner_id

    @api.depends("on_site_at", "requested_at", "sla_deadline")
    def _compute_time_to_door(self):
        for job in self:
            start = job.requested_at or job.create_date
            if job.on_site_at and start:
                job.time_to_door_min = (job.on_site_at - start).total_seconds() / 60.0
                job.sla_met = bool(job.sla_deadline and job.on_site_at <= job.sla_deadline)
            else:
                job.time_to_door_min = 0.0
                job.sla_met = False

    @api.depends("sla_deadline", "state")
    def _compute_sla_remaining(self):
        now = self._crowd_now()
        for job in self:
            if job.sla_deadline and job.state not in ("on_site", "done", "cancelled"):
                job.sla_remaining_min = int((job.sla_deadline - now).total_seconds() // 60)
            else:
                job.sla_remaining_min = 0

    def _compute_offer_count(self):
        counts = dict(
            self.env["crowd.dispatch.offer"]._read_group([("job_id", "in", self.ids)], ["job_id"], ["__count"])
        )
        for job in self:
            job.offer_count = counts.get(job, 0)

    @api.depends("on_site_at", "eta_at", "assigned_at")
    def _compute_visit_at(self):
        for job in self:
            job.visit_at = job.on_site_at or job.eta_at or job.assigned_at

    @api.depends("planned_duration_min", "on_site_at", "eta_at", "assigned_at", "offer_ids.state", "offer_ids.eta_min")
    def _compute_planned_end_at(self):
        for job in self:
            start = job.on_site_at or job.eta_at
            if not start and job.assigned_at:
                accepted = job.offer_ids.filtered(lambda o: o.state == "accepted")[:1]
                start = job.assigned_at + timedelta(minutes=accepted.eta_min or 0.0)
            job.planned_end_at = start + timedelta(minutes=job.planned_duration_min or 0.0) if start else False

    @api.depends("wait_code", "wait_params", "wait_until", "state")
    @api.depends_context("lang", "tz")
    def _compute_wait_reason(self):
        engine = self.env["crowd.dispatch.engine"]
        now = self._crowd_now()
        for job in self:
            if job.wait_code and job.state in OPEN_DISPATCH_STATES:
                job.wait_reason = engine._wait_text(job.wait_code, job.wait_params, job.wait_until, now)
            else:
                job.wait_reason = False

    def _compute_access_url(self):
        for job in self:
            job.access_url = f"/my/jobs/{job.id}"

    @api.model
    def _group_expand_state(self, states, domain):
        return [key for key, _label in JOB_STATES]

    # ------------------------------------------------------------------ constraints
    @api.constrains("latitude", "longitude")
    def _check_position(self):
        for job in self:
            if job.latitude or job.longitude:
                try:
                    check_position("site", job.latitude, job.longitude)
                except crowd_dispatch.InvalidInput as exc:
                    raise ValidationError(
                        self.env._("Job %(name)s: invalid site position (%(error)s).", name=job.name, error=exc.message)
                    ) from exc

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        """Jobs are created by the system (a request's first visit, a re-dispatch, an escalation):
        only crowd dispatchers may create one directly, and only in its first state: the workflow fields
        (state, expert, timestamps, visit) are the actions' own, whether sent as values or as defaults."""
        self._crowd_check_dispatcher()
        if not self.env.su:
            system = self._crowd_system_fields()
            defaults = {key[8:] for key, value in self.env.context.items() if key.startswith("default_") and value}
            if any(vals.keys() & system for vals in vals_list) or defaults & system:
                raise AccessError(
                    self.env._("A new job starts as new: its workflow fields change through its actions.")
                )
        for vals in vals_list:
            if not vals.get("sla_deadline") and vals.get("request_id"):
                # a visit created without its own deadline keeps the request's
                request = self.env["maintenance.request"].sudo().browse(vals["request_id"])
                vals["sla_deadline"] = request.crowd_sla_deadline
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].sudo().next_by_code("crowd.job") or "/"
        return super().create(vals_list)

    def write(self, vals):
        if vals.keys() - self._crowd_user_writable_fields() and not self.env.su:
            # workflow fields change only through the job's actions (which write as the system)
            raise AccessError(
                self.env._("These job fields change only through the job's actions: %s", ", ".join(sorted(vals)))
            )
        return super().write(vals)

    @api.model
    def _crowd_system_fields(self):
        """Fields only the job's actions write (never set at creation by a user)."""
        return {
            "state",
            "expert_id",
            "offer_ids",
            "followup_ids",
            "next_check_at",
            "eta_at",
            "checkin_latitude",
            "checkin_longitude",
            "checkin_distance_km",
            "checkin_far",
            "report",
            "report_attachment_ids",
            "resolution",
            "cancel_reason",
            "escalation_reason",
            "done_hook_done",
            *STATE_TIMESTAMP.values(),
        }

    @api.model
    def _crowd_user_writable_fields(self):
        """Fields a user may write directly (with write access on jobs: dispatchers)."""
        return {
            "cost_ceiling",
            "planned_duration_min",
            "visit_window_start",
            "visit_window_end",
            "message_main_attachment_id",
            "activity_ids",
            "message_follower_ids",
        }

    # ------------------------------------------------------------------ hooks and helpers
    def _crowd_now(self):
        """The dispatch clock (naive UTC). Tests patch this method to control time."""
        return fields.Datetime.now()

    def _crowd_sla_minutes(self):
        self.ensure_one()
        return self.request_id._crowd_sla_minutes()

    def _crowd_expected_pay(self, expert):
        """What the expert earns for this job; the payout addon overrides this."""
        return 0.0

    def _crowd_offer_pay_vals(self, expert, offer_vals, now):
        """Pay values of a new offer of this job to ``expert`` (``offer_vals``: the offer's other values,
        e.g. its round and distance); the payout addon adds its pay rules."""
        self.ensure_one()
        return {"expected_pay": self._crowd_expected_pay(expert)}

    def _crowd_hold_offers(self, vals_list, now):
        """The offers (values) of this job that may be sent now; the payout addon holds back those whose
        pay passes the cost ceiling until a dispatcher approves it."""
        return vals_list

    def _crowd_on_done(self):
        """Called exactly once when the visit is done; the payout addon overrides this."""
        return True

    def _crowd_customer(self):
        self.ensure_one()
        return self.site_id.commercial_partner_id or self.request_id._crowd_customer()

    def _crowd_state_label(self):
        self.ensure_one()
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    def _crowd_is_dispatcher(self):
        return self.env.su or self.env.user.has_group("crowd_service.group_crowd_user")

    def _crowd_check_dispatcher(self):
        if not self._crowd_is_dispatcher():
            raise AccessError(self.env._("Only crowd dispatchers can do this."))

    def _crowd_check_actor(self):
        """The job's expert or a crowd dispatcher may drive the visit."""
        if self._crowd_is_dispatcher():
            return
        partner = self.env.user.partner_id
        for job in self:
            # read access first: a foreign or unknown job answers like one that does not exist
            job.check_access("read")
            if not job.expert_id or job.expert_id != partner:
                raise AccessError(self.env._("Only the job's expert or a dispatcher can update this visit."))

    def _crowd_set_state(self, state, now=None, **vals):
        """Move to ``state`` (refusing invalid transitions with a clear error) and stamp its timestamp."""
        now = now or self._crowd_now()
        left_en_route = self.browse()
        for job in self:
            current = job.state
            if state not in TRANSITIONS[current]:
                labels = dict(self._fields["state"]._description_selection(self.env))
                raise UserError(
                    self.env._(
                        "Job %(name)s cannot go from %(current)s to %(target)s.",
                        name=job.name,
                        current=labels[current],
                        target=labels[state],
                    )
                )
            job_vals = dict(vals, state=state)
            if state in STATE_TIMESTAMP:
                job_vals[STATE_TIMESTAMP[state]] = now
            if state not in OPEN_DISPATCH_STATES:
                job_vals.update(wait_code=False, wait_params=False, wait_until=False, waiting_expert_id=False)
            # sudo: the caller's right to this transition was checked by the action that moves the job
            job.sudo().write(job_vals)
            if current in ACTIVE_VISIT_STATES and state in CLOSED_STATES and job.expert_id:
                # the expert is free again: the jobs waiting near here are decided again at once
                self._crowd_wake_waiting(job.company_id, now, job.latitude, job.longitude)
            if current == "en_route":
                left_en_route |= job
        left_en_route._crowd_withdraw_diversions(now)
        self.request_id._crowd_sync_stage()
        return True

    def _crowd_withdraw_diversions(self, now):
        """System: the expert is no longer on the way to these visits (on site, cancelled): the offers that would
        have diverted them can no longer be accepted; they are withdrawn and those jobs decided again (one query)."""
        if not self:
            return
        offers = (
            self.env["crowd.dispatch.offer"]
            .sudo()
            .search([("divert_job_id", "in", self.ids), ("state", "=", "pending")])
        )
        if offers:
            offers._crowd_set_state("withdrawn", now)
            offers.job_id._crowd_redecide_now(now)

    def _crowd_withdraw_pending(self, now):
        self.offer_ids.filtered(lambda o: o.state == "pending").sudo()._crowd_set_state("withdrawn", now)

    def _crowd_history_offers(self):
        """Offers of this job (the engine's offer history)."""
        self.ensure_one()
        return self.sudo().offer_ids

    def _crowd_schedule_check(self, at):
        """Ask the dispatch cron to look at this job again at ``at`` (no busy loop: an exact trigger)."""
        for job in self:
            if not job.next_check_at or at < job.next_check_at:
                job.sudo().write({"next_check_at": at})
        cron = self.env.ref("crowd_service.ir_cron_crowd_dispatch", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at=max(at, fields.Datetime.now()))

    def _crowd_mark_offered(self, now):
        for job in self:
            if job.state == "dispatching":
                job._crowd_set_state("offered", now=now)

    def _crowd_assign(self, expert, now=None):
        """Assign ``expert``; when the expert is an internal Odoo user, also make him the request's technician."""
        now = now or self._crowd_now()
        self._crowd_set_state("assigned", now=now, expert_id=expert.id, next_check_at=False)
        user = expert.sudo().crowd_user_id
        for job in self:
            if user and not user.share:
                job.request_id.sudo().user_id = user
            if user:
                job.sudo().message_subscribe(partner_ids=expert.ids)
            # the expert's offers for other jobs are withdrawn and those jobs decided again (dispatch policy)
            job._crowd_after_accept(expert, now)
            # an urgent visit joins the technician's planned day, if they have one today
            self.env["crowd.route"]._crowd_insert_urgent(job)
        return True

    def _crowd_escalate(self, reason, now=None):
        """Every round is exhausted (or nobody fits): hand the job to a dispatcher."""
        now = now or self._crowd_now()
        for job in self.sudo():
            job._crowd_withdraw_pending(now)
            job._crowd_set_state("escalated", now=now, escalation_reason=reason, next_check_at=False)
            job.message_post(
                body=self.env._("Dispatch escalated to a dispatcher: %s", reason), subtype_xmlid="mail.mt_note"
            )
            request = job.request_id
            # the company's crowd manager, else whoever reported the request (internal), else the team
            owner = request.owner_user_id if request.owner_user_id and not request.owner_user_id.share else None
            dispatcher = (
                job.rule_id.dispatcher_id
                or job.company_id.crowd_manager_id
                or owner
                or request.maintenance_team_id.member_ids[:1]
            )
            if dispatcher:
                job.activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=self.env._("Crowd dispatch escalated"),
                    note=reason,
                    user_id=dispatcher.id,
                )
        return True

    # ------------------------------------------------------------------ creation from a request
    @api.model
    def _crowd_vals_from_request(self, request, **extra):
        """Values of a new job of ``request``: its site, position, requirements and SLA."""
        vals = {
            "request_id": request.id,
            "site_id": request.crowd_site_id.id,
            "latitude": request.crowd_latitude,
            "longitude": request.crowd_longitude,
            "required_skill_ids": [
                Command.create(line_vals) for line_vals in request.crowd_required_skill_ids._crowd_copy_vals()
            ],
            "certificate_type_ids": [Command.set(request.crowd_certificate_type_ids.ids)],
            "min_tier": request.crowd_min_tier or False,
            "sla_deadline": request.crowd_sla_deadline,
            "cost_ceiling": request.crowd_cost_ceiling,
            "requested_at": request.crowd_requested_at or request.create_date or self._crowd_now(),
        }
        rule = self.env["crowd.dispatch.rule"]._find_for_request(request)
        if rule:
            vals["rule_id"] = rule.id
        if request.duration and request.duration > 0:
            planned = request.duration * 60.0
        else:
            planned = rule.planned_duration_min if rule else DEFAULT_PLANNED_DURATION_MIN
        vals["planned_duration_min"] = min(planned, MAX_PLANNED_DURATION_MIN)
        vals.update(extra)
        return vals

    @api.model
    def _crowd_create_for(self, request, **extra):
        """A new job of ``request`` (system: called after the caller's right to create it was checked)."""
        # sudo: experts and customers create jobs only through checked actions (request form, escalation);
        # the caller's default_* keys (meant for the request, or forged) must not fill the job's workflow fields
        return (
            self.sudo()
            .with_context(clean_context(self.env.context))
            .create(self._crowd_vals_from_request(request, **extra))
        )

    def _crowd_auto_dispatch(self, now=None):
        """Dispatch new jobs whose rule dispatches automatically; a dispatch problem hands the job to a
        dispatcher instead of preventing the request from being reported."""
        now = now or self._crowd_now()
        for job in self:
            if job.rule_id.auto_dispatch and job.state == "new" and (job.latitude or job.longitude):
                try:
                    with self.env.cr.savepoint():
                        job._crowd_dispatch_step(now)
                except UserError as exc:
                    job._crowd_escalate(str(exc), now=now)

    # ------------------------------------------------------------------ dispatch
    def _crowd_dispatch_step(self, now=None):
        """One engine decision for this job (start dispatching when new)."""
        self.ensure_one()
        now = now or self._crowd_now()
        # the caller's default_* keys must not reach the offers the engine creates
        job = self.sudo().with_company(self.company_id).with_context(clean_context(self.env.context))
        if job.state in ("new", "escalated"):
            job._crowd_set_state("dispatching", now=now)
        if job.state not in OPEN_DISPATCH_STATES:
            return False
        if not job.rule_id:
            rule = self.env["crowd.dispatch.rule"]._find_for_request(job.request_id)
            if rule:
                job.write({"rule_id": rule.id})
        return self.env["crowd.dispatch.engine"].with_context(clean_context(self.env.context))._dispatch(job, now)

    def _crowd_check_dispatchable(self, message):
        """Refuse, with ``message`` (``%(name)s``, ``%(state)s``), a job that is not open for dispatch."""
        for job in self:
            if job.state not in DISPATCHABLE_STATES:
                raise UserError(message % {"name": job.name, "state": job._crowd_state_label()})

    def action_dispatch(self):
        """Dispatch now: ask the engine for offers immediately."""
        self._crowd_check_dispatcher()
        self.check_access("write")
        now = self._crowd_now()
        self._crowd_check_dispatchable(self.env._("Job %(name)s is %(state)s: use Re-dispatch to start again."))
        for job in self:
            job._crowd_dispatch_step(now)
        return True

    def action_dispatch_now(self):
        """The dispatcher's override: offer now, without deferral or look-ahead for this visit."""
        self._crowd_check_dispatcher()
        self.check_access("write")
        now = self._crowd_now()
        self._crowd_check_dispatchable(self.env._("Job %(name)s is %(state)s: there is nothing to dispatch."))
        for job in self:
            # sudo: a dispatcher's decision, checked above; the flag is not writable by users
            job.sudo().write({"dispatch_override": True, "waiting_expert_id": False})
            job.sudo().message_post(
                body=self.env._("Dispatch now: no deferral and no look-ahead for this visit (%s).", self.env.user.name),
                subtype_xmlid="mail.mt_note",
            )
            job._crowd_dispatch_step(now)
        return True

    @api.model
    def _crowd_wake_waiting(self, company, now, lat=None, lon=None, codes=("lookahead", "deferred", "no_candidate")):
        """An expert freed up (visit over, offer answered or expired): the company's jobs that wait for an
        expert (look-ahead, deferral, nobody free; or only ``codes``) near ``lat``/``lon`` are due now, and the
        dispatch cron is triggered at once (no polling)."""
        domain = [
            ("company_id", "=", company.id),
            ("state", "in", OPEN_DISPATCH_STATES),
            ("wait_code", "in", codes),
            "|",
            ("next_check_at", "=", False),
            ("next_check_at", ">", now),
        ]
        if lat or lon:
            dlat = WAKE_RADIUS_KM / KM_PER_DEGREE_LAT
            dlon = WAKE_RADIUS_KM / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
            domain += [
                ("latitude", ">=", lat - dlat),
                ("latitude", "<=", lat + dlat),
                ("longitude", ">=", lon - dlon),
                ("longitude", "<=", lon + dlon),
            ]
        # sudo: a system reaction to an event the caller was allowed to cause
        waiting = self.sudo().search(domain)._crowd_lock_skip_locked()
        if waiting:
            waiting.write({"next_check_at": now})
            waiting._crowd_schedule_check(now)
        return waiting

    def _crowd_still_deferred(self, now):
        """True when this deferred job needs no decision before its release: the engine's contract says so
        while the free share of its pool stays below the ``recheck_free_share`` its deferral named. The
        dispatch cron checks it for a deferred job woken before its release (the wake-up itself stays a
        cheap write in the transaction of the event) and puts its next check back at the release."""
        self.ensure_one()
        recheck = (self.wait_params or {}).get("recheck_free_share") if self.wait_code == "deferred" else None
        if recheck is None or self.dispatch_override:
            return False
        return self.env["crowd.dispatch.engine"]._free_share(self, now) < recheck

    def _crowd_lock_skip_locked(self):
        """The jobs of ``self`` this transaction could row-lock; the others are being handled right now by
        another transaction (a cron worker, an answer), which decides them anyway."""
        if not self:
            return self
        self.flush_recordset()
        self.env.cr.execute(
            SQL("SELECT id FROM crowd_job WHERE id = ANY(%s) FOR UPDATE SKIP LOCKED", list(self.ids)),
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    def _crowd_after_accept(self, expert, now):
        """``expert`` accepted this job (or a dispatcher assigned them): their pending offers for other jobs
        are withdrawn (when the rule says so), and those jobs, and the jobs that waited for this expert, are
        decided again at once."""
        self.ensure_one()
        job = self.sudo()
        settings = self.env["crowd.dispatch.engine"]._rule_for(job)._dispatch_settings()
        others = self.browse()
        if settings.withdraw_on_accept:
            pending = (
                self.env["crowd.dispatch.offer"]
                .sudo()
                .search([("expert_id", "=", expert.id), ("state", "=", "pending"), ("job_id", "!=", job.id)])
            )
            pairs = set(offers_to_withdraw(expert.id, [(o.job_id.id, o.expert_id.id) for o in pending]))
            withdrawn = pending.filtered(lambda o: (o.job_id.id, o.expert_id.id) in pairs)
            withdrawn._crowd_set_state("withdrawn", now)
            others |= withdrawn.job_id
        waited = job.search(
            [("waiting_expert_id", "=", expert.id), ("state", "in", OPEN_DISPATCH_STATES), ("id", "!=", job.id)]
        )
        (others | waited).sudo()._crowd_redecide_now(now)
        return others | waited

    def _crowd_lock_for_divert(self, expert):
        """System: row-lock this visit (NOWAIT) before ``expert`` leaves it for a more urgent job, and check that
        they are still on the way to it."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM crowd_job WHERE id = %s FOR UPDATE NOWAIT", [self.id], log_exceptions=False
                )
        except pg_errors.LockNotAvailable:
            raise UserError(self.env._("Your current visit is being updated right now; please try again.")) from None
        self.invalidate_recordset()
        job = self.sudo()
        if job.state != "en_route" or job.expert_id != expert:
            raise UserError(
                self.env._(
                    "This offer was made while you were on your way to %(visit)s, which is now %(state)s: it can "
                    "no longer be accepted.",
                    visit=job.name,
                    state=job._crowd_state_label().lower(),
                )
            )

    def _crowd_release_diverted(self, urgent, now):
        """System: the expert on the way to this visit accepted the more urgent ``urgent`` (locked and checked
        by :meth:`_crowd_lock_for_divert`): this visit goes back to dispatch; the caller decides it again once the
        expert holds ``urgent`` (:meth:`_crowd_redecide_now`), so that it goes to another expert."""
        self.ensure_one()
        job = self.sudo()
        expert = job.expert_id
        job.offer_ids.filtered(lambda o: o.state == "accepted")._crowd_set_state("withdrawn", now)
        job.tracking_ids.unlink()
        user = expert.crowd_user_id
        if user and job.request_id.user_id == user:
            job.request_id.user_id = False
        job.write(
            {
                "state": "dispatching",
                "dispatched_at": now,
                "expert_id": False,
                "assigned_at": False,
                "en_route_at": False,
                "eta_at": False,
                "next_check_at": False,
                "wait_code": False,
                "wait_params": False,
                "wait_until": False,
                "waiting_expert_id": False,
            }
        )
        job.request_id._crowd_sync_stage()
        job._crowd_publish_tracking()
        job.message_post(
            body=self.env._(
                "%(expert)s was on the way here and took the more urgent %(urgent)s instead; this visit goes out "
                "again to another expert.",
                expert=expert.name,
                urgent=urgent.name,
            ),
            subtype_xmlid="mail.mt_note",
        )

    def _crowd_redecide_now(self, now):
        """Decide these jobs again now. A job another transaction holds (a cron worker, an answer) is being
        decided there; its next check (an offer expiry at the latest) stays as it is."""
        for job in self._crowd_lock_skip_locked().filtered(lambda j: j.state in OPEN_DISPATCH_STATES):
            try:
                with self.env.cr.savepoint():
                    job._crowd_dispatch_step(now)
            except UserError as exc:
                _logger.warning("Crowd dispatch of job %s failed: %s", job.id, exc)
                job._crowd_escalate(str(exc), now=now)

    def action_redispatch(self):
        """Start again: this job is cancelled (open offers withdrawn, expert released) and a new job of the
        same request is dispatched."""
        self._crowd_check_dispatcher()
        self.check_access("write")
        now = self._crowd_now()
        new_jobs = self.browse()
        for job in self:
            if job.state not in ("offered", "dispatching", "assigned", "en_route", "escalated"):
                raise UserError(
                    self.env._(
                        "Job %(name)s cannot be re-dispatched while %(state)s.",
                        name=job.name,
                        state=job._crowd_state_label(),
                    )
                )
            job._crowd_withdraw_pending(now)
            job.offer_ids.filtered(lambda o: o.state == "accepted").sudo()._crowd_set_state("withdrawn", now)
            job._crowd_set_state("cancelled", now=now, cancel_reason=self.env._("Re-dispatched"), next_check_at=False)
            new_job = self._crowd_create_for(
                job.request_id,
                kind=job.kind,
                parent_job_id=job.parent_job_id.id,
                diagnosis=job.diagnosis,
                min_tier=job.min_tier,
                required_skill_ids=[Command.create(vals) for vals in job.required_skill_ids._crowd_copy_vals()],
                cost_ceiling=job.cost_ceiling,
                sla_deadline=job.sla_deadline,
                requested_at=job.requested_at,
                planned_duration_min=job.planned_duration_min,
            )
            job.sudo().message_post(body=self.env._("Re-dispatched as %s.", new_job.name))
            new_job._crowd_dispatch_step(now)
            new_jobs |= new_job
        return new_jobs.ids

    def action_assign_wizard(self):
        self.ensure_one()
        self._crowd_check_dispatcher()
        self.check_access("write")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Assign an Expert"),
            "res_model": "crowd.assign.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_job_id": self.id},
        }

    def _crowd_assign_manual(self, expert, message=None):
        """A dispatcher assigns ``expert`` directly (open offers are withdrawn); ``message`` is the chatter note
        (by default: assigned manually by a dispatcher)."""
        self._crowd_check_dispatcher()
        now = self._crowd_now()
        self._crowd_check_dispatchable(
            self.env._("Job %(name)s is %(state)s: re-dispatch it before assigning someone else.")
        )
        for job in self:
            job._crowd_withdraw_pending(now)
            job._crowd_assign(expert, now=now)
            job.sudo().message_post(
                body=message or self.env._("%s assigned manually by a dispatcher.", expert.name),
                subtype_xmlid="mail.mt_note",
            )
        return True

    # ------------------------------------------------------------------ batch assignment
    @api.model
    def _crowd_batch_domain(self, company):
        """The jobs of ``company`` a batch assignment takes: open for dispatch, not urgent, with a site position."""
        return [
            ("company_id", "=", company.id),
            ("state", "in", DISPATCHABLE_STATES),
            ("priority", "!=", URGENT_PRIORITY),
            "|",
            ("latitude", "!=", 0),
            ("longitude", "!=", 0),
        ]

    def _crowd_batch_waiting(self):
        """The jobs of ``self`` a batch assignment may take (see :meth:`_crowd_batch_domain`)."""
        return self.filtered(
            lambda j: j.state in DISPATCHABLE_STATES
            and j.priority != URGENT_PRIORITY
            and bool(j.latitude or j.longitude)
        )

    def action_batch_assign(self):
        """Open the batch assignment of the waiting non-urgent jobs: the selected ones (of one company), or,
        without a selection, every one of the current company. The engine proposes who takes which job
        (a min-cost flow over all of them at once); the dispatcher confirms."""
        self._crowd_check_dispatcher()
        jobs = self.exists()
        if len(jobs) != len(self):
            raise MissingError(self.env._("A selected job does not exist any more."))
        jobs.check_access("write")
        company = jobs.company_id if jobs else self.env.company
        if len(company) > 1:
            raise UserError(self.env._("Select the jobs of one company at a time."))
        wizard = self.env["crowd.batch.assign.wizard"].create(
            {"company_id": company.id, "scope_job_ids": [Command.set(jobs.ids)]}
        )
        return wizard._crowd_action_open()

    @api.model
    def _crowd_batch_lock(self, company, rules, limit):
        """The waiting non-urgent jobs of ``rules`` in ``company``, oldest first, row-locked with SKIP LOCKED:
        a job another batch run, a dispatcher's confirmation, an answer or the dispatch cron holds is theirs."""
        self.flush_model(["company_id", "rule_id", "state", "priority", "latitude", "longitude", "requested_at"])
        self.env.cr.execute(
            SQL(
                """SELECT id FROM crowd_job
                    WHERE company_id = %s AND rule_id = ANY(%s) AND state IN %s
                      AND (priority IS NULL OR priority != %s) AND (latitude != 0 OR longitude != 0)
                    ORDER BY requested_at NULLS LAST, id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED""",
                company.id,
                list(rules.ids),
                DISPATCHABLE_STATES,
                URGENT_PRIORITY,
                limit,
            )
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _cron_crowd_batch_assign(self, limit=BATCH_LIMIT):
        """Assign the waiting non-urgent jobs of the dispatch rules with *Batch Assignment*, company by company,
        as the batch assignment proposes them, without confirmation.

        Safe with several workers and with dispatchers confirming a batch at the same moment: every job is
        row-locked with SKIP LOCKED first, so a job is assigned by exactly one of them; the engine's proposal
        is computed from the locked jobs only. Jobs nobody can take stay as they are. Returns the number of
        jobs assigned.
        """
        # sudo: a system run over every company's rules and jobs
        rules = self.env["crowd.dispatch.rule"].sudo().search([("batch_assign", "=", True)])
        engine = self.env["crowd.dispatch.engine"].sudo()
        Partner = self.env["res.partner"].sudo()
        assigned = 0
        for company, company_rules in rules.grouped("company_id").items():
            jobs = self.sudo().with_company(company)._crowd_batch_lock(company, company_rules, limit)
            if not jobs:
                continue
            now = self._crowd_now()
            try:
                proposal = engine.with_company(company)._batch_propose(jobs, now)
            except UserError as exc:
                _logger.warning("Crowd batch assignment of company %s failed: %s", company.id, exc)
                continue
            for line in proposal["lines"]:
                if not line["expert_id"]:
                    continue
                job, expert = line["job"], Partner.browse(line["expert_id"])
                message = self.env._(
                    "%(expert)s assigned by the scheduled batch assignment (%(eta)s min away).",
                    expert=expert.name,
                    eta=round(line["eta_min"]),
                )
                try:
                    with self.env.cr.savepoint():
                        job._crowd_assign_manual(expert, message=message)
                    assigned += 1
                except UserError as exc:
                    _logger.warning("Crowd batch assignment of job %s failed: %s", job.id, exc)
        self.env["ir.cron"]._notify_progress(done=assigned, remaining=0)
        return assigned

    def action_view_offers(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Offers"),
            "res_model": "crowd.dispatch.offer",
            "view_mode": "list,form",
            "domain": [("job_id", "=", self.id)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------ visit lifecycle
    @api.model
    def _crowd_number(self, value, label, low, high):
        """``value`` as a finite float within [low, high], or a clear error."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or not low <= number <= high:
            raise ValidationError(
                self.env._("%(label)s must be a number from %(low)s to %(high)s.", label=label, low=low, high=high)
            )
        return number

    def action_en_route(self, eta_minutes):
        """The expert is on the way and arrives in ``eta_minutes`` (0 to 24 h)."""
        self._crowd_check_actor()
        eta = self._crowd_number(eta_minutes, self.env._("The ETA in minutes"), 0, MAX_ETA_MINUTES)
        now = self._crowd_now()
        self._crowd_set_state("en_route", now=now, eta_at=now + timedelta(minutes=eta))
        return True

    def action_check_in(self, lat, lon):
        """The expert is on site: record the position and flag a check-in far from the site."""
        self.ensure_one()
        self._crowd_check_actor()
        lat = self._crowd_number(lat, self.env._("The latitude"), -90, 90)
        lon = self._crowd_number(lon, self.env._("The longitude"), -180, 180)
        try:
            check_position("check_in", lat, lon)
        except crowd_dispatch.InvalidInput as exc:
            raise ValidationError(self.env._("Invalid check-in position: %s", exc.message)) from exc
        if self.state != "en_route":
            raise UserError(self.env._("Go en route before checking in on site."))
        now = self._crowd_now()
        vals = {"checkin_latitude": lat, "checkin_longitude": lon}
        if self.latitude or self.longitude:
            distance = geodesic_km(lat, lon, self.latitude, self.longitude)
            vals.update(checkin_distance_km=distance, checkin_far=distance > CHECKIN_FAR_KM)
        self._crowd_set_state("on_site", now=now, **vals)
        if vals.get("checkin_far"):
            self.sudo().message_post(
                body=self.env._("Check-in %.2f km away from the site.", vals["checkin_distance_km"]),
                subtype_xmlid="mail.mt_note",
            )
        return True

    def action_report(self, notes, attachment_ids=None):
        """Write the visit report; ``attachment_ids`` are the caller's own uploads (JPEG, PNG or PDF)."""
        self.ensure_one()
        self._crowd_check_actor()
        if self.state not in ("on_site", "done"):
            raise UserError(self.env._("A visit report can only be written on site or after the visit."))
        if not isinstance(notes, str) or not notes.strip():
            raise ValidationError(self.env._("Write what you found and did."))
        if len(notes) > MAX_TEXT:
            raise ValidationError(self.env._("The report is too long (at most %s characters).", MAX_TEXT))
        attachments = self._crowd_check_report_attachments(attachment_ids or [])
        # sudo: the actor, the state and the input were checked above
        job = self.sudo()
        vals = {"report": notes}
        if attachments:
            attachments.write({"res_model": self._name, "res_id": job.id})
            vals["report_attachment_ids"] = [Command.link(aid) for aid in attachments.ids]
        job.write(vals)
        job.message_post(body=notes, attachment_ids=attachments.ids, subtype_xmlid="mail.mt_note")
        return True

    def _crowd_check_report_attachments(self, attachment_ids):
        """The attachments of a report: ids of the caller's own, unlinked uploads of an allowed type."""
        if not isinstance(attachment_ids, (list, tuple)) or not all(_is_id(a) for a in attachment_ids):
            raise ValidationError(self.env._("The report's attachments are a list of ids."))
        # sudo: read the attachments to check them; they must be the caller's own
        attachments = self.env["ir.attachment"].sudo().browse(attachment_ids).exists()
        if len(attachments) != len(set(attachment_ids)):
            raise ValidationError(self.env._("A report attachment does not exist."))
        for attachment in attachments:
            own = attachment.create_uid == self.env.user or self._crowd_is_dispatcher()
            unlinked_or_ours = not attachment.res_id or (
                attachment.res_model == self._name and attachment.res_id == self.id
            )
            if not own or not unlinked_or_ours:
                raise AccessError(self.env._("You can only attach your own uploads to this report."))
            if attachment.mimetype not in REPORT_MIMETYPES:
                raise ValidationError(
                    self.env._("%s is not a photo or a PDF (JPEG, PNG or PDF only).", attachment.name)
                )
        return attachments

    def action_complete(self, resolution=None):
        """The visit is done (from on site)."""
        self._crowd_check_actor()
        if resolution is not None and not isinstance(resolution, str):
            raise ValidationError(self.env._("The resolution is a text."))
        if resolution and len(resolution) > MAX_TEXT:
            raise ValidationError(self.env._("The resolution is too long (at most %s characters).", MAX_TEXT))
        now = self._crowd_now()
        self._crowd_set_state("done", now=now, resolution=resolution or False)
        self._crowd_run_done_hook()
        return True

    def _crowd_run_done_hook(self):
        for job in self.sudo():
            if not job.done_hook_done:
                job.write({"done_hook_done": True})
                job._crowd_on_done()

    def action_cancel(self, reason):
        """A dispatcher cancels the visit, saying why."""
        self._crowd_check_dispatcher()
        self.check_access("write")
        if not isinstance(reason, str) or not reason.strip():
            raise UserError(self.env._("Say why the visit is cancelled."))
        now = self._crowd_now()
        for job in self:
            job._crowd_withdraw_pending(now)
            job._crowd_set_state("cancelled", now=now, cancel_reason=reason[:MAX_TEXT], next_check_at=False)
        return True

    def action_escalate_specialist(self, diagnosis, required_skills=None):
        """A first responder hands over to a specialist: a new job of the same request carrying the diagnosis,
        minimum tier specialist (``required_skills`` {skill_id: level_id} raised), dispatched at once.

        Only the job's expert when a first responder, or a dispatcher, may escalate; from on site or done.
        """
        self.ensure_one()
        self._crowd_check_actor()
        if not self._crowd_is_dispatcher() and self.expert_id.sudo().crowd_tier != "first_responder":
            raise AccessError(self.env._("Only first responders hand a visit over to a specialist."))
        if not isinstance(diagnosis, str) or not diagnosis.strip():
            raise UserError(self.env._("Write the diagnosis for the specialist."))
        if len(diagnosis) > MAX_TEXT:
            raise ValidationError(self.env._("The diagnosis is too long (at most %s characters).", MAX_TEXT))
        if self.state not in ("on_site", "done"):
            raise UserError(self.env._("Escalate to a specialist after checking in on site."))
        if self.sudo().followup_ids.filtered(lambda j: j.state != "cancelled"):
            raise UserError(self.env._("This visit was already handed over to a specialist."))
        required_skills = self._crowd_check_required_skills(required_skills)
        # sudo: the actor, the tier, the state and the input were checked above
        job = self.sudo()
        followup = job._crowd_create_for(
            job.request_id,
            kind="specialist",
            parent_job_id=job.id,
            diagnosis=diagnosis,
            min_tier="specialist",
            rule_id=job.rule_id.id,
            cost_ceiling=job.cost_ceiling,
            required_skill_ids=[],
        )
        followup._crowd_raise_required_skills(job, required_skills)
        job.message_post(body=self.env._("Escalated to a specialist: %s", diagnosis), subtype_xmlid="mail.mt_note")
        if job.state == "on_site":
            job._crowd_set_state(
                "done",
                now=self._crowd_now(),
                resolution=self.env._("Diagnosed, escalated to a specialist: %s", diagnosis),
            )
            job._crowd_run_done_hook()
        if followup.latitude or followup.longitude:
            followup._crowd_dispatch_step()
        return followup.id

    def _crowd_check_required_skills(self, required_skills):
        """{skill id: level id} of a diagnosis: existing skills and levels of the skill's type."""
        if not required_skills:
            return {}
        if not isinstance(required_skills, dict):
            raise ValidationError(self.env._("The specialist's skills are given as {skill: level}."))
        checked = {}
        for skill_id, level_id in required_skills.items():
            try:
                skill_id, level_id = int(skill_id), int(level_id)
            except (TypeError, ValueError, OverflowError):
                raise ValidationError(self.env._("Unknown skill or level.")) from None
            if not (_is_id(skill_id) and _is_id(level_id)):
                raise ValidationError(self.env._("Unknown skill or level."))
            skill = self.env["crowd.skill"].sudo().browse(skill_id).exists()
            level = self.env["crowd.skill.level"].sudo().browse(level_id).exists()
            if not skill or not level or level.skill_type_id != skill.skill_type_id:
                raise ValidationError(self.env._("Unknown skill or level."))
            checked[skill_id] = level_id
        return checked

    def _crowd_raise_required_skills(self, parent, required_skills):
        """Required skills of this specialist job: the parent's, raised/extended by the diagnosis
        (``required_skills`` {skill_id: level_id}); the engine's ``escalate_to_specialist`` merges them."""
        Required = self.env["crowd.required.skill"].sudo()
        Level = self.env["crowd.skill.level"].sudo()
        candidates = {}  # skill -> level records the merged level may come from
        for line in parent.required_skill_ids:
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
            vals_list.append({"job_id": self.id, "skill_id": skill.id, "min_level_id": level.id})
        self.sudo().required_skill_ids.unlink()
        Required.create(vals_list)

    # ------------------------------------------------------------------ rating
    def _rating_get_operator(self):
        """The rated person is the expert who did the visit."""
        return self.expert_id or super()._rating_get_operator()

    def _rating_get_partner(self):
        """The customer who rates is the site's company."""
        return self.customer_id or super()._rating_get_partner()

    def rating_apply(self, rate, token=None, rating=None, feedback=None, subtype_xmlid=None, notify_delay_send=False):
        """Every applied rating (portal form or e-mail token link) feeds the expert's score.

        The system applies ratings: ``action_rate`` and the e-mailed rating link call this as superuser
        after their own checks. Over RPC, whoever can read a rating's token (any internal user) could
        otherwise overwrite the customer's rating."""
        if not self.env.su:
            raise AccessError(self.env._("Only the customer rates a visit, from the visit itself."))
        result = super().rating_apply(
            rate, token=token, rating=rating, feedback=feedback, subtype_xmlid=subtype_xmlid,
            notify_delay_send=notify_delay_send,
        )  # fmt: skip
        result.sudo().rated_partner_id._crowd_update_rating()
        return result

    def action_rate(self, rate, feedback=None):
        """The customer rates a completed visit: a whole number from 1 to 5, once per customer and job."""
        self.ensure_one()
        self.check_access("read")
        partner = self.env.user.partner_id
        if self.env.user.commercial_partner_id != self.customer_id and not self._crowd_is_dispatcher():
            raise AccessError(self.env._("Only the customer can rate this visit."))
        if self.state != "done" or not self.expert_id:
            raise UserError(self.env._("You can rate the visit once it is completed."))
        if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= 5:
            raise ValidationError(self.env._("A rating is a whole number from 1 to 5."))
        if feedback is not None and not isinstance(feedback, str):
            raise ValidationError(self.env._("The comment is a text."))
        # sudo: the customer was checked above; ratings are written by the system
        job = self.sudo()
        if job.rating_ids.filtered(lambda r: r.consumed and r.partner_id == partner):
            raise UserError(self.env._("You have already rated this visit."))
        token = job._rating_get_access_token(partner)
        job.rating_apply(rate, token=token, feedback=(feedback or "")[:2000])
        return True

    # ------------------------------------------------------------------ cron
    @api.model
    def _cron_crowd_standby(self):
        """Standby calls: every active rule with standby calls on asks offline experts near its waiting jobs
        to come online when they are short of experts (crowd.dispatch.engine._standby_calls)."""
        now = self._crowd_now()
        engine = self.env["crowd.dispatch.engine"]
        called = self.env["res.partner"]
        # sudo: a system decision over every company's rules
        for rule in self.env["crowd.dispatch.rule"].sudo().search([("standby", "=", True)]):
            called |= engine.with_company(rule.company_id)._standby_calls(rule, now)
        return called

    @api.model
    def _cron_crowd_dispatch(self, limit=CRON_BATCH, job_ids=None):
        """Expire due offers and run the next round of due jobs.

        Idempotent and safe with several workers: each due job is row-locked with SKIP LOCKED
        (jobs before offers, the same order as an acceptance) and handled by exactly one worker.
        ``job_ids`` restricts the run to these jobs (tests, manual runs).
        """
        now = self._crowd_now()
        self.env["crowd.job"].flush_model(["state", "next_check_at"])
        self.env["crowd.dispatch.offer"].flush_model(["state", "expires_at"])
        self.env.cr.execute(
            SQL(
                """SELECT j.id FROM crowd_job j
                    WHERE j.state IN %s
                      AND (j.next_check_at <= %s
                           OR EXISTS (SELECT 1 FROM crowd_dispatch_offer o
                                       WHERE o.job_id = j.id AND o.state = 'pending' AND o.expires_at <= %s))
                      AND (%s IS NULL OR j.id = ANY(%s))
                    ORDER BY j.priority DESC NULLS LAST, j.next_check_at NULLS FIRST, j.id
                    LIMIT %s
                    FOR UPDATE OF j SKIP LOCKED""",
                OPEN_DISPATCH_STATES,
                now,
                now,
                None if job_ids is None else True,
                list(job_ids or []),
                limit,
            )
        )
        jobs = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        for job in jobs:
            job = job.with_company(job.company_id)
            due = job.offer_ids.filtered(lambda o: o.state == "pending" and o.expires_at and o.expires_at <= now)
            due._crowd_set_state("expired", now)
            if due:
                # experts who let an offer expire are free for the other waiting jobs again
                self._crowd_wake_waiting(job.company_id, now, job.latitude, job.longitude)
            if job.wait_code == "deferred" and job.wait_until and now < job.wait_until and not due:
                if job._crowd_still_deferred(now):
                    # woken by an expert freeing up, but its pool is still short of free experts: the
                    # engine's contract says no decision is needed before the release (checked then)
                    job.write({"next_check_at": job.wait_until})
                    continue
            job.write({"next_check_at": False})
            try:
                with self.env.cr.savepoint():
                    job._crowd_dispatch_step(now)
            except UserError as exc:
                _logger.warning("Crowd dispatch of job %s failed: %s", job.id, exc)
                job._crowd_escalate(str(exc), now=now)
        # a full batch may leave more due jobs: the cron runner then calls again at once
        self.env["ir.cron"]._notify_progress(done=len(jobs), remaining=int(len(jobs) >= limit))
        return len(jobs)
