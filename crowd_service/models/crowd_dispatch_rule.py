from odoo import api, fields, models
from odoo.exceptions import ValidationError

import crowd_dispatch
from crowd_dispatch import DEFAULT_WEIGHTS
from crowd_dispatch.policy import DispatchSettings, settings_table
from crowd_dispatch.supply import SupplySettings, supply_settings_table

from .crowd_vocabulary import priority_selection

SLA_HELP = "Minutes from the report to the SLA deadline for this priority; 0 = the company's default."
DEFAULT_PLANNED_DURATION_MIN = 60.0
MAX_PLANNED_DURATION_MIN = 24 * 60
# The engine's dispatch policy settings (crowd_dispatch.policy.DispatchSettings), one row each:
# name, type, default, min, max, doc. Each one is a rule field of the same name, made by _lever().
DISPATCH_SETTINGS = {row["name"]: row for row in settings_table()}
# The standby calls of the engine's supply levers (crowd_dispatch.supply.SupplySettings), the same way;
# the other supply lever (relocation of idle own technicians) is measured in the simulator only.
STANDBY_SETTINGS = {row["name"]: row for row in supply_settings_table() if row["name"].startswith("standby")}
RULE_SETTINGS = {**DISPATCH_SETTINGS, **STANDBY_SETTINGS}
LEVER_FIELD_TYPES = {"bool": fields.Boolean, "int": fields.Integer, "float": fields.Float}


def _lever(name, string):
    """The rule field of the engine setting ``name``: its type, default and help come from the engine."""
    row = RULE_SETTINGS[name]
    return LEVER_FIELD_TYPES[row["type"]](string, default=row["default"], help=row["doc"])


class CrowdDispatchRule(models.Model):
    """Which pools, limits and offer behaviour apply to a request: the first matching rule wins."""

    _name = "crowd.dispatch.rule"
    _description = "Crowd Dispatch Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    # --- matching (empty = any)
    category_ids = fields.Many2many(
        "maintenance.equipment.category", string="Equipment Categories", help="Empty: every category."
    )
    priority = fields.Selection(
        selection=lambda self: priority_selection(self.env), string="Priority", help="Empty: every priority."
    )
    dispatcher_id = fields.Many2one(
        "res.users",
        string="Dispatcher",
        domain=[("share", "=", False)],
        help="Handles the jobs this rule escalates; empty: the company's crowd manager.",
    )
    customer_ids = fields.Many2many(
        "res.partner",
        "crowd_dispatch_rule_customer_rel",
        "rule_id",
        "partner_id",
        string="Customers",
        help="Commercial partner of the request's site. Empty: every customer.",
    )
    maintenance_type = fields.Selection(
        selection=lambda self: self.env["maintenance.request"]._fields["maintenance_type"].selection,
        help="Empty: both types.",
    )
    # --- pools and cascade
    use_own = fields.Boolean("Own Technicians", default=True)
    own_delay_min = fields.Float("Own After (min)", default=0.0)
    use_partner = fields.Boolean("Service Partners", default=True)
    partner_delay_min = fields.Float("Partners After (min)", default=10.0)
    use_crowd = fields.Boolean("Crowd", default=True)
    crowd_delay_min = fields.Float("Crowd After (min)", default=20.0)
    # --- candidate limits
    tier_policy = fields.Selection(
        [
            ("first_responder_first", "First responder first"),
            ("any", "Any tier at or above the minimum"),
            ("direct_specialist", "Specialists only"),
        ],
        default="first_responder_first",
        required=True,
    )
    max_radius_km = fields.Float("Max Radius (km)", default=60.0)
    min_rating = fields.Float("Minimum Rating", default=0.0)
    certificate_policy = fields.Selection(
        [("required", "Valid certificates required"), ("ignore", "Ignore certificates")],
        default="required",
        required=True,
    )
    # the score weights: defaults from the engine (crowd_dispatch.DEFAULT_WEIGHTS), the ones the simulator measured
    weight_travel = fields.Float(default=DEFAULT_WEIGHTS.travel)
    weight_skill_surplus = fields.Float(default=DEFAULT_WEIGHTS.skill_surplus)
    weight_rating = fields.Float(default=DEFAULT_WEIGHTS.rating)
    weight_cost = fields.Float(default=DEFAULT_WEIGHTS.cost)
    weight_acceptance = fields.Float(default=DEFAULT_WEIGHTS.acceptance)
    weight_fairness = fields.Float(default=DEFAULT_WEIGHTS.fairness)
    weight_sla_slack = fields.Float(default=DEFAULT_WEIGHTS.sla_slack)
    # --- offer behaviour
    strategy = fields.Selection(
        [("sequential", "One at a time"), ("broadcast", "Top N at once")], default="broadcast", required=True
    )
    top_n = fields.Integer("Offers per Round", default=3)
    offer_timeout_min = fields.Float("Offer Timeout (min)", default=5.0)
    max_rounds = fields.Integer(default=3)
    sla_minutes_0 = fields.Integer("SLA Very Low (min)", help=SLA_HELP)
    sla_minutes_1 = fields.Integer("SLA Low (min)", help=SLA_HELP)
    sla_minutes_2 = fields.Integer("SLA Normal (min)", help=SLA_HELP)
    sla_minutes_3 = fields.Integer("SLA High (min)", help=SLA_HELP)
    auto_dispatch = fields.Boolean("Dispatch on Creation", default=True)
    batch_assign = fields.Boolean(
        "Batch Assignment",
        help="The scheduled action 'Crowd: batch assignment of waiting jobs' assigns this rule's waiting non-urgent "
        "jobs all at once, every few minutes, as the batch assignment proposes them (least total travel and SLA "
        "lateness), instead of first come, first served. Usually with Dispatch on Creation off, so that the jobs "
        "wait for it.",
    )
    planned_duration_min = fields.Float(
        "Planned Visit (min)",
        default=DEFAULT_PLANNED_DURATION_MIN,
        help="Planned time on site of a visit when its request gives no duration; an expert on a visit is "
        "busy until arrival plus this (the look-ahead waits for experts finishing soon).",
    )
    # --- dispatch policy: every setting of the engine's DispatchSettings (see _lever and _dispatch_settings)
    lookahead = _lever("lookahead", "Look-ahead")
    lookahead_horizon_min = _lever("lookahead_horizon_min", "Look-ahead Horizon (min)")
    lookahead_min_gain_min = _lever("lookahead_min_gain_min", "Minimum Gain to Wait (min)")
    lookahead_min_priority = _lever("lookahead_min_priority", "Look-ahead from Priority")
    stagger = _lever("stagger", "Staggered Offers")
    stagger_after_min = _lever("stagger_after_min", "Next Offer After (min)")
    stagger_max_extra_travel_min = _lever("stagger_max_extra_travel_min", "Stagger Max Extra Travel (min)")
    stagger_min_free_share = _lever("stagger_min_free_share", "Stagger While Free Share ≥")
    stagger_max_open = _lever("stagger_max_open", "Most Open Offers")
    stagger_within_sla = _lever("stagger_within_sla", "Stagger Only Within SLA")
    defer = _lever("defer", "Defer Under Congestion")
    defer_max_priority = _lever("defer_max_priority", "Defer up to Priority")
    defer_free_share_below = _lever("defer_free_share_below", "Defer While Free Share <")
    defer_release_before_deadline_min = _lever("defer_release_before_deadline_min", "Release Before SLA Deadline (min)")
    defer_max_wait_min = _lever("defer_max_wait_min", "Longest Deferral (min)")
    defer_min_staffing = _lever("defer_min_staffing", "Minimum Staffing at Release")
    defer_staffing_horizon_min = _lever("defer_staffing_horizon_min", "Staffing Also Held For (min)")
    sla_widening = _lever("sla_widening", "SLA-driven Widening")
    expected_response_min = _lever("expected_response_min", "Expected Answer Time (min)")
    reask_after_min = _lever("reask_after_min", "Ask Again After (min)")
    divert = _lever("divert", "Divert Experts on the Way")
    divert_min_priority = _lever("divert_min_priority", "Divert from Priority")
    divert_min_gain_min = _lever("divert_min_gain_min", "Minimum Gain to Divert (min)")
    divert_min_slack_min = _lever("divert_min_slack_min", "Slack Left to the Visit Left Behind (min)")
    divert_min_free_share = _lever("divert_min_free_share", "Divert While Free Share ≥")
    one_open_offer_per_expert = _lever("one_open_offer_per_expert", "One Open Offer per Expert")
    withdraw_on_accept = _lever("withdraw_on_accept", "Withdraw Other Offers on Acceptance")
    learned_acceptance = _lever("learned_acceptance", "Learned Acceptance")
    learned_travel = _lever("learned_travel", "Learned Travel Times")
    prior_acceptance = _lever("prior_acceptance", "Prior Acceptance")
    prior_strength = _lever("prior_strength", "Prior Strength")
    prior_first_time_fix = _lever("prior_first_time_fix", "Prior First-time Fix")
    asset_weight = _lever("asset_weight", "First-time Fix Weight (min)")
    shortage_pay_after_rounds = _lever("shortage_pay_after_rounds", "Shortage Pay After (rounds)")
    shortage_pay_step = _lever("shortage_pay_step", "Shortage Pay Step")
    shortage_pay_cap = _lever("shortage_pay_cap", "Shortage Pay Cap")
    # --- standby calls (crowd_dispatch.supply): ask offline experts to come online on a shortage
    standby = _lever("standby", "Standby Calls")
    standby_free_share_below = _lever("standby_free_share_below", "Call While Free Share <")
    standby_urgent_waiting = _lever("standby_urgent_waiting", "Call When Urgent Jobs Waiting ≥")
    standby_max_open_calls = _lever("standby_max_open_calls", "Most Open Calls")
    standby_max_calls_per_day = _lever("standby_max_calls_per_day", "Most Calls per Day")
    standby_premium_hours = _lever("standby_premium_hours", "Standby Premium (hours of pay)")

    _sql_constraints = [
        ("radius_positive", "CHECK(max_radius_km > 0)", "The maximum radius must be positive."),
        ("rating_range", "CHECK(min_rating >= 0 AND min_rating <= 5)", "The minimum rating is between 0 and 5."),
        ("top_n_positive", "CHECK(top_n >= 1)", "At least one offer per round."),
        ("rounds_positive", "CHECK(max_rounds >= 1)", "At least one round."),
        ("timeout_positive", "CHECK(offer_timeout_min > 0)", "The offer timeout must be positive."),
        (
            "planned_duration_range",
            f"CHECK(planned_duration_min > 0 AND planned_duration_min <= {MAX_PLANNED_DURATION_MIN})",
            "The planned visit lasts more than 0 minutes and at most a day.",
        ),
        (
            "delays_positive",
            "CHECK(own_delay_min >= 0 AND partner_delay_min >= 0 AND crowd_delay_min >= 0)",
            "Cascade delays cannot be negative.",
        ),
    ]

    @api.constrains("use_own", "use_partner", "use_crowd")
    def _check_pools(self):
        for rule in self:
            if not (rule.use_own or rule.use_partner or rule.use_crowd):
                raise ValidationError(self.env._("Rule %s enables no pool.", rule.name))

    @api.constrains(
        "weight_travel",
        "weight_skill_surplus",
        "weight_rating",
        "weight_cost",
        "weight_acceptance",
        "weight_fairness",
        "weight_sla_slack",
        "sla_minutes_0",
        "sla_minutes_1",
        "sla_minutes_2",
        "sla_minutes_3",
    )
    def _check_weights(self):
        for rule in self:
            if min(rule._weights_dict().values()) < 0:
                raise ValidationError(self.env._("Score weights cannot be negative (rule %s).", rule.name))
            if min(rule.sla_minutes_0, rule.sla_minutes_1, rule.sla_minutes_2, rule.sla_minutes_3) < 0:
                raise ValidationError(self.env._("SLA minutes cannot be negative (rule %s).", rule.name))

    @api.constrains(*RULE_SETTINGS)
    def _check_dispatch_settings(self):
        """Every policy setting within the engine's bounds (the engine's own validation, in words)."""
        for rule in self:
            for name, row in RULE_SETTINGS.items():
                if row["type"] == "bool":
                    continue
                value = rule[name]
                if not row["min"] <= value <= row["max"]:
                    raise ValidationError(
                        self.env._(
                            "%(setting)s must be between %(min)s and %(max)s (rule %(rule)s).",
                            setting=self._fields[name]._description_string(self.env),
                            min=row["min"],
                            max=row["max"],
                            rule=rule.name,
                        )
                    )
            rule._dispatch_settings()
            rule._supply_settings()

    # ------------------------------------------------------------------ matching
    def _matches(self, request):
        """True when this rule applies to ``request`` (empty criteria match anything)."""
        self.ensure_one()
        if self.company_id != request.company_id:
            return False
        if self.category_ids and request.category_id not in self.category_ids:
            return False
        if self.priority and (request.priority or "0") != self.priority:
            return False
        if self.maintenance_type and request.maintenance_type != self.maintenance_type:
            return False
        if self.customer_ids:
            customer = request._crowd_customer()
            if not customer or customer not in self.customer_ids:
                return False
        return True

    @api.model
    def _find_for_request(self, request):
        """The first active rule of the request's company (by sequence) that matches, or an empty recordset."""
        # sudo: matching is a system decision; rules may be unreadable to the user who creates the request
        rules = self.sudo().search([("company_id", "=", request.company_id.id)])
        for rule in rules:
            if rule._matches(request):
                return rule
        return self.browse()

    # ------------------------------------------------------------------ engine inputs
    def _sla_minutes(self, priority):
        """The rule's SLA minutes for ``priority``; 0 when the rule leaves it to the company."""
        self.ensure_one()
        return self[f"sla_minutes_{priority or '0'}"]

    def _weights_dict(self):
        self.ensure_one()
        return {
            "travel": self.weight_travel,
            "skill_surplus": self.weight_skill_surplus,
            "rating": self.weight_rating,
            "cost": self.weight_cost,
            "acceptance": self.weight_acceptance,
            "fairness": self.weight_fairness,
            "sla_slack": self.weight_sla_slack,
        }

    def _dispatch_settings(self):
        """The engine's DispatchSettings of this rule (one value per rule field of the same name)."""
        self.ensure_one()
        casts = {"bool": bool, "int": int, "float": float}
        values = {name: casts[row["type"]](self[name]) for name, row in DISPATCH_SETTINGS.items()}
        try:
            return DispatchSettings(**values)
        except crowd_dispatch.InvalidInput as exc:
            raise ValidationError(
                self.env._("Rule %(rule)s: %(error)s", rule=self.name or "", error=exc.message)
            ) from exc

    def _supply_settings(self):
        """The engine's SupplySettings of this rule: its standby calls (relocation stays off in Odoo)."""
        self.ensure_one()
        casts = {"bool": bool, "int": int, "float": float}
        values = {name: casts[row["type"]](self[name]) for name, row in STANDBY_SETTINGS.items()}
        try:
            return SupplySettings(**values)
        except crowd_dispatch.InvalidInput as exc:
            raise ValidationError(
                self.env._("Rule %(rule)s: %(error)s", rule=self.name or "", error=exc.message)
            ) from exc

    def _pool_steps(self):
        """(pool, delay_min) pairs of the enabled pools, for the engine's cascade."""
        self.ensure_one()
        steps = []
        for flag, pool, delay in (
            ("use_own", crowd_dispatch.Pool.OWN, self.own_delay_min),
            ("use_partner", crowd_dispatch.Pool.PARTNER, self.partner_delay_min),
            ("use_crowd", crowd_dispatch.Pool.CROWD, self.crowd_delay_min),
        ):
            if self[flag]:
                steps.append((pool, delay))
        return steps

    def _enabled_kinds(self):
        """Expert kinds (res.partner.crowd_kind values) served by the enabled pools."""
        self.ensure_one()
        kinds = []
        if self.use_own:
            kinds.append("employee")
        if self.use_partner:
            kinds.append("partner")
        if self.use_crowd:
            kinds.append("freelance")
        return kinds
