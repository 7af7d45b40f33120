from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.misc import formatLang

from crowd_dispatch.supply import STANDBY_CALL_OPEN_MIN

from .crowd_vocabulary import CROWD_KINDS, CROWD_TIERS

MAX_SHIFT_GAP = timedelta(hours=2)  # a break shorter than this (lunch) does not split a planned day
CROWD_STATES = [
    ("candidate", "Candidate"),
    ("onboarding", "Onboarding"),
    ("active", "Active"),
    ("suspended", "Suspended"),
    ("offboarded", "Offboarded"),
]
# action -> (allowed source states, target state, reason required)
CROWD_TRANSITIONS = {
    "start_onboarding": (("candidate",), "onboarding", False),
    "activate": (("candidate", "onboarding"), "active", False),
    "suspend": (("active",), "suspended", True),
    "offboard": (("candidate", "onboarding", "active", "suspended"), "offboarded", True),
    "reinstate": (("suspended", "offboarded"), "active", False),
}
# The standby premium promised by a standby call and earned by coming online in time: written by the system only
# (the standby calls, crowd_set_online, the payout that consumes it), never by a user, whatever the context.
CROWD_STANDBY_FIELDS = frozenset({"crowd_standby_called_at", "crowd_standby_premium_hours", "crowd_standby_earned_at"})


class ResPartner(models.Model):
    _inherit = "res.partner"

    is_crowd_expert = fields.Boolean(string="Crowd Expert", index=True)
    crowd_kind = fields.Selection(CROWD_KINDS, string="Expert Kind", default="freelance")
    crowd_tier = fields.Selection(CROWD_TIERS, string="Tier", default="technician")
    crowd_state = fields.Selection(
        CROWD_STATES, string="Pool Status", default="candidate", required=True, tracking=True, copy=False
    )
    crowd_state_reason = fields.Char(
        string="Status Reason",
        tracking=True,
        copy=False,
        help="Why the expert was suspended or offboarded (required for these statuses).",
    )
    crowd_radius_km = fields.Float(string="Service Radius (km)", default=30.0)
    crowd_max_jobs = fields.Integer(
        string="Capacity", default=1, help="Maximum number of jobs the expert handles at the same time."
    )
    crowd_online = fields.Boolean(string="Online", copy=False)
    crowd_last_seen = fields.Datetime(string="Last Seen", copy=False, readonly=True)
    crowd_standby_called_at = fields.Datetime(
        string="Standby Call",
        copy=False,
        readonly=True,
        help="When the dispatch last asked this expert to come online on a shortage (standby calls).",
    )
    crowd_standby_premium_hours = fields.Float(
        string="Standby Premium (hours)",
        copy=False,
        readonly=True,
        help="The standby premium promised by the last standby call, in hours of pay of the job.",
    )
    crowd_standby_earned_at = fields.Datetime(
        string="Standby Premium Earned",
        copy=False,
        readonly=True,
        help="When the expert came online within the hour of a standby call: the first job they accept that day "
        "after it pays the premium on top (then this is cleared).",
    )
    crowd_calendar_id = fields.Many2one(
        "resource.calendar", string="Working Hours", help="Empty: available at any time."
    )
    crowd_planned_work = fields.Boolean(
        string="Accepts Planned Work",
        help="A freelancer who accepts planned work gets day routes from Plan day when on shift. Own and "
        "partner technicians always do.",
    )
    crowd_blackout_ids = fields.One2many(
        "crowd.expert.blackout", "partner_id", string="Unavailabilities", groups="crowd_service.group_crowd_user"
    )
    crowd_user_id = fields.Many2one(
        "res.users", string="Expert User", compute="_compute_crowd_user_id", store=True, readonly=True
    )
    crowd_company_partner_id = fields.Many2one(
        "res.partner",
        string="Partner Company",
        domain="[('is_company', '=', True)]",
        help="The service partner company this technician works for.",
    )
    crowd_skill_ids = fields.One2many(
        "crowd.expert.skill", "partner_id", string="Skills", groups="crowd_service.group_crowd_user"
    )
    crowd_certificate_ids = fields.One2many(
        "crowd.expert.certificate", "partner_id", string="Certificates", groups="crowd_service.group_crowd_user"
    )
    crowd_certificate_count = fields.Integer(
        compute="_compute_crowd_certificate_count", string="Certificate Count", groups="crowd_service.group_crowd_user"
    )
    crowd_cost_per_job = fields.Float(string="Cost per Job", help="Internal cost estimate of one job.")
    crowd_rating = fields.Float(string="Rating", default=0.0, digits=(3, 2), help="Average rating, 0 to 5.")
    crowd_company_id = fields.Many2one(
        "res.company",
        string="Pool Company",
        compute="_compute_crowd_company_id",
        store=True,
        readonly=False,
        precompute=True,
        index=True,
        help="The company whose expert pool this expert belongs to.",
    )

    _sql_constraints = [
        ("crowd_radius_positive", "CHECK(crowd_radius_km >= 0)", "The service radius cannot be negative."),
        ("crowd_max_jobs_positive", "CHECK(crowd_max_jobs >= 0)", "The capacity cannot be negative."),
        ("crowd_cost_positive", "CHECK(crowd_cost_per_job >= 0)", "The cost per job cannot be negative."),
        (
            "crowd_rating_range",
            "CHECK(crowd_rating >= 0 AND crowd_rating <= 5)",
            "The rating must be between 0 and 5.",
        ),
    ]

    # ------------------------------------------------------------------ computes

    @api.depends("user_ids")
    def _compute_crowd_user_id(self):
        for partner in self:
            partner.crowd_user_id = partner.user_ids[:1]

    @api.depends("is_crowd_expert")
    def _compute_crowd_company_id(self):
        for partner in self:
            if partner.is_crowd_expert and not partner.crowd_company_id:
                partner.crowd_company_id = partner.company_id or self.env.company

    def _compute_crowd_certificate_count(self):
        data = dict(
            self.env["crowd.expert.certificate"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.crowd_certificate_count = data.get(partner, 0)

    # ------------------------------------------------------------------ constraints

    @api.constrains("partner_latitude", "partner_longitude")
    def _check_crowd_coordinates(self):
        for partner in self:
            if not -90.0 <= (partner.partner_latitude or 0.0) <= 90.0:
                raise ValidationError(
                    self.env._(
                        "Invalid latitude %(lat)s for %(name)s: it must be between -90 and 90.",
                        lat=partner.partner_latitude,
                        name=partner.display_name,
                    )
                )
            if not -180.0 <= (partner.partner_longitude or 0.0) <= 180.0:
                raise ValidationError(
                    self.env._(
                        "Invalid longitude %(lon)s for %(name)s: it must be between -180 and 180.",
                        lon=partner.partner_longitude,
                        name=partner.display_name,
                    )
                )

    @api.constrains("is_crowd_expert", "crowd_kind", "crowd_company_partner_id")
    def _check_crowd_company_partner(self):
        for partner in self:
            if partner.is_crowd_expert and partner.crowd_kind == "partner" and not partner.crowd_company_partner_id:
                raise ValidationError(
                    self.env._("The partner technician %s needs a partner company.", partner.display_name)
                )

    @api.constrains("crowd_state", "crowd_state_reason")
    def _check_crowd_state_reason(self):
        for partner in self:
            if partner.crowd_state in ("suspended", "offboarded") and not (partner.crowd_state_reason or "").strip():
                raise ValidationError(
                    self.env._("Give a reason to suspend or offboard the expert %s.", partner.display_name)
                )

    # ------------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("is_crowd_expert") for vals in vals_list):
            self._crowd_check_pool_manager()
        if any(CROWD_STANDBY_FIELDS.intersection(vals) for vals in vals_list):
            self._crowd_check_standby_system()
        return super().create(vals_list)

    def write(self, vals):
        # anyone with "Contact Creation" writes partners: the expert pool is the crowd dispatchers'
        if vals.get("is_crowd_expert") or (
            any(fname.startswith("crowd_") or fname == "is_crowd_expert" for fname in vals)
            and any(partner.is_crowd_expert for partner in self)
        ):
            self._crowd_check_pool_manager()
        if CROWD_STANDBY_FIELDS.intersection(vals):
            self._crowd_check_standby_system()
        return super().write(vals)

    def _crowd_check_pool_manager(self):
        if not self.env.su and not self.env.user.has_group("crowd_service.group_crowd_user"):
            raise AccessError(self.env._("Only crowd dispatchers manage the expert pool."))

    def _crowd_check_standby_system(self):
        """The standby call and premium fields are the system's (no user writes them, no context key opens them)."""
        if not self.env.su:
            raise AccessError(self.env._("The standby calls and premiums are set by the dispatch only."))

    # ------------------------------------------------------------------ actions

    def _crowd_transition(self, action, reason=None):
        self._crowd_check_pool_manager()
        sources, target, needs_reason = CROWD_TRANSITIONS[action]
        state_labels = dict(self._fields["crowd_state"]._description_selection(self.env))
        for partner in self:
            if not partner.is_crowd_expert:
                raise UserError(self.env._("%s is not a crowd expert.", partner.display_name))
            if partner.crowd_state not in sources:
                raise UserError(
                    self.env._(
                        "The expert %(name)s cannot go from %(from)s to %(to)s.",
                        name=partner.display_name,
                        **{"from": state_labels[partner.crowd_state], "to": state_labels[target]},
                    )
                )
            vals = {"crowd_state": target}
            if needs_reason:
                reason = (reason or partner.crowd_state_reason or "").strip()
                if not reason:
                    raise UserError(
                        self.env._("Give a reason to suspend or offboard the expert %s.", partner.display_name)
                    )
                vals["crowd_state_reason"] = reason
            else:
                vals["crowd_state_reason"] = False
            if target in ("suspended", "offboarded"):
                vals["crowd_online"] = False
            partner.write(vals)
        return True

    def action_crowd_start_onboarding(self):
        return self._crowd_transition("start_onboarding")

    def action_crowd_activate(self):
        return self._crowd_transition("activate")

    def action_crowd_suspend(self, reason=None):
        return self._crowd_transition("suspend", reason=reason)

    def action_crowd_offboard(self, reason=None):
        return self._crowd_transition("offboard", reason=reason)

    def action_crowd_reinstate(self):
        return self._crowd_transition("reinstate")

    def action_crowd_geolocate(self):
        """Geolocate from the address with base_geolocalize when it is installed (network call)."""
        if not hasattr(self, "geo_localize"):
            raise UserError(
                self.env._("Geolocation needs the module base_geolocalize; enter the latitude and longitude by hand.")
            )
        return self.geo_localize()

    def action_crowd_view_certificates(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service.action_crowd_certificate")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    # ------------------------------------------------------------------ business

    def crowd_set_online(self, online, lat=None, lon=None):
        """Set the online flag (and optionally the current position) and stamp ``crowd_last_seen``."""
        self._crowd_check_pool_manager()
        vals = {"crowd_online": bool(online), "crowd_last_seen": fields.Datetime.now()}
        if lat is not None:
            vals["partner_latitude"] = lat
        if lon is not None:
            vals["partner_longitude"] = lon
        was_online = {partner.id: partner.crowd_online for partner in self}
        self.write(vals)
        Job = self.env["crowd.job"]
        self.filtered(lambda p: p.crowd_online and not was_online[p.id])._crowd_earn_standby_premium(Job._crowd_now())
        for partner in self.filtered(lambda p: p.crowd_online and not was_online[p.id] and p.is_crowd_expert):
            # an expert coming online may be the one a waiting job needs: decide those jobs again now
            company = partner.crowd_company_id or self.env.company
            Job._crowd_wake_waiting(company, Job._crowd_now(), partner.partner_latitude, partner.partner_longitude)
        return True

    def _crowd_earn_standby_premium(self, now):
        """System: the experts of ``self`` who come online at ``now`` within STANDBY_CALL_OPEN_MIN of their last
        standby call earn its premium (``crowd_standby_earned_at`` = now, the promised hours kept); coming online
        later earns nothing. Returns the experts who earned it."""
        start = now - timedelta(minutes=STANDBY_CALL_OPEN_MIN)
        earned = self.sudo().filtered(
            lambda p: p.is_crowd_expert
            and p.crowd_standby_called_at
            and start <= p.crowd_standby_called_at <= now
            and p.crowd_standby_premium_hours > 0
        )
        # sudo: a system field, whoever brings the expert online (the expert on the portal, a dispatcher)
        earned.write({"crowd_standby_earned_at": now})
        for partner in earned:
            partner.message_post(
                body=self.env._(
                    "Came online within the hour of the standby call: the first job accepted today pays "
                    "%(hours)s hour(s) of its pay on top.",
                    hours=formatLang(self.env, partner.crowd_standby_premium_hours, digits=1),
                ),
                message_type="notification",
                subtype_xmlid="mail.mt_note",
            )
        return earned.with_env(self.env)

    def _crowd_is_available_at(self, dt):
        """Return ``{partner_id: bool}``: is each expert of ``self`` available at ``dt`` (naive UTC)?

        Checks working hours (``crowd_calendar_id``, public holidays of the calendar included;
        no calendar means always available) and unavailabilities (``crowd_blackout_ids``,
        bounds included). The online flag, the pool status and the capacity are checked
        elsewhere. One query for the blackouts and one calendar evaluation per distinct calendar.
        """
        dt = fields.Datetime.to_datetime(dt)
        result = dict.fromkeys(self.ids, True)
        if not self:
            return result
        blocked = (
            self.env["crowd.expert.blackout"]
            .sudo()
            ._read_group(
                [("partner_id", "in", self.ids), ("date_from", "<=", dt), ("date_to", ">=", dt)],
                ["partner_id"],
            )
        )
        for (partner,) in blocked:
            result[partner.id] = False
        start = pytz.utc.localize(dt)
        end = start + timedelta(seconds=1)
        for calendar, partners in self.grouped("crowd_calendar_id").items():
            if not calendar:
                continue
            intervals = calendar._work_intervals_batch(start, end)[False]
            if not list(intervals):
                for partner in partners:
                    result[partner.id] = False
        return result

    def _crowd_filter_available_at(self, dt):
        """Recordset variant of :meth:`_crowd_is_available_at`."""
        available = self._crowd_is_available_at(dt)
        return self.filtered(lambda p: available.get(p.id))

    def _crowd_day_shift(self, start, end, company):
        """{partner_id: (from, to)} (naive UTC): each expert's shift between ``start`` and ``end``, for Plan
        day. Working hours are the expert's calendar, else the company's (public holidays included), minus
        their unavailabilities; parts less than MAX_SHIFT_GAP apart (a lunch break) are one shift, and the
        longest shift is the day's. An expert who does not work then is left out."""
        spans = self.env["crowd.dispatch.engine"]._expert_work_spans(
            self, start, end, default_calendar=company.resource_calendar_id
        )
        shifts = {}
        for pid, parts in spans.items():
            merged = []
            for a, b in sorted(parts):
                if merged and a - merged[-1][1] <= MAX_SHIFT_GAP:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            if merged:
                shifts[pid] = max(merged, key=lambda span: span[1] - span[0])
        return shifts
