"""Pay rules: extra pay on the package rate at night, at weekends, on public holidays and for urgent jobs.

How an offer's pay is made (``crowd.job._crowd_pay_quote``), in this order:

1. the package: its rate (``base``) and travel allowance (``travel``), as before;
2. the pay rules of the job's company that match the moment of the offer and the job, in sequence
   order: each multiplies the rate by ``1 + percent / 100`` (a night that is also a holiday pays
   both: 1.3 x 1.5 = 1.95);
3. shortage pay, from the engine (``crowd_dispatch.policy.shortage_pay`` with the job's dispatch rule):
   after N rounds declined or expired, ``1 + min(steps x step, cap)``;
4. the company's cap on the product (``crowd_pay_max_multiplier``, 0 = none);
5. ``amount = round(base x multiplier) + travel`` (the travel allowance is not multiplied).

An offer whose amount passes the job's cost ceiling is held until a dispatcher approves it.
"""

import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.crowd_service.models.crowd_vocabulary import priority_selection

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PERCENT = 500.0


class CrowdPayRule(models.Model):
    _name = "crowd.pay.rule"
    _description = "Crowd Pay Rule (extra pay on the package rate)"
    _inherit = ["mail.thread"]
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    label = fields.Char(
        required=True,
        translate=True,
        help="Shown to the expert after the percentage, e.g. 'night' gives '+30% night'.",
    )
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    kind = fields.Selection(
        [("window", "Time Window"), ("holiday", "Public Holiday"), ("urgency", "Urgency")],
        required=True,
        default="window",
        tracking=True,
        help="Time window: hours and days of the week, in the time zone of the company's working hours. "
        "Public holiday: the global time off of the company's working hours (Working Schedules). "
        "Urgency: jobs of this priority or higher.",
    )
    percent = fields.Float(
        "Extra Pay (%)", required=True, tracking=True, help="Added to the package rate: 30 pays 1.3 times the rate."
    )
    hour_from = fields.Float("From", default=0.0, help="Local time; a window from 22:00 to 06:00 spans midnight.")
    hour_to = fields.Float("To", default=24.0)
    mon = fields.Boolean("Monday", default=True)
    tue = fields.Boolean("Tuesday", default=True)
    wed = fields.Boolean("Wednesday", default=True)
    thu = fields.Boolean("Thursday", default=True)
    fri = fields.Boolean("Friday", default=True)
    sat = fields.Boolean("Saturday", default=True)
    sun = fields.Boolean("Sunday", default=True)
    min_priority = fields.Selection(
        selection=lambda self: priority_selection(self.env),
        string="From Priority",
        help="Urgency: jobs of this priority or higher.",
    )
    note = fields.Text()

    _sql_constraints = [
        (
            "percent_range",
            f"CHECK(percent > 0 AND percent <= {MAX_PERCENT})",
            "The extra pay of a pay rule is more than 0 and at most 500 percent.",
        ),
        (
            "hours_range",
            "CHECK(hour_from >= 0 AND hour_from <= 24 AND hour_to >= 0 AND hour_to <= 24)",
            "Hours of a pay rule are between 00:00 and 24:00.",
        ),
    ]

    @api.constrains("kind", "min_priority", "percent", *WEEKDAYS)
    def _check_kind(self):
        for rule in self:
            if not 0 < rule.percent <= MAX_PERCENT:
                raise ValidationError(
                    self.env._("Pay rule %(rule)s: the extra pay is more than 0%% and at most 500%%.", rule=rule.name)
                )
            if rule.kind == "urgency" and not rule.min_priority:
                raise ValidationError(self.env._("Pay rule %(rule)s: set the priority it starts from.", rule=rule.name))
            if rule.kind == "window" and not any(rule[day] for day in WEEKDAYS):
                raise ValidationError(self.env._("Pay rule %(rule)s: tick at least one day.", rule=rule.name))

    # ------------------------------------------------------------------ matching
    @api.model
    def _local(self, moment, company):
        """``moment`` (naive UTC) in the time zone of the company's working hours."""
        tz = pytz.timezone(company.resource_calendar_id.tz or "UTC")
        return pytz.utc.localize(moment).astimezone(tz)

    def _in_window(self, local):
        """True when ``local`` (an aware datetime) lies in this rule's hours and days. The day is the
        local day of ``local``: the early hours of a night window spanning midnight count on their own day."""
        self.ensure_one()
        if not self[WEEKDAYS[local.weekday()]]:
            return False
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        start, end = self.hour_from, self.hour_to
        if start == end:
            return True  # the whole day
        if start < end:
            return start <= hour < end
        return hour >= start or hour < end

    @api.model
    def _is_holiday(self, moment, company):
        """True when ``moment`` (naive UTC) falls in a global time off (public holiday) of the company's
        working hours (``resource.calendar.leaves`` without a resource)."""
        calendar = company.resource_calendar_id
        # sudo: public holidays are read for the pay of an offer, whoever triggered the dispatch
        return bool(
            self.env["resource.calendar.leaves"]
            .sudo()
            .search_count(
                [
                    ("resource_id", "=", False),
                    ("company_id", "in", [company.id, False]),
                    ("calendar_id", "in", [calendar.id, False]),
                    ("date_from", "<=", moment),
                    ("date_to", ">", moment),
                ],
                limit=1,
            )
        )

    @api.model
    def _matching(self, job, moment):
        """The active pay rules of the job's company that apply to ``job`` at ``moment`` (naive UTC)."""
        company = job.company_id
        # sudo: rates are the system's; the dispatch runs for whoever triggered it
        rules = self.sudo().search([("company_id", "=", company.id)])
        if not rules:
            return rules
        local = self._local(moment, company)
        holiday = None
        matched = self.sudo().browse()
        for rule in rules:
            if rule.kind == "window":
                ok = rule._in_window(local)
            elif rule.kind == "holiday":
                if holiday is None:
                    holiday = self._is_holiday(moment, company)
                ok = holiday
            else:
                ok = int(job.priority or 0) >= int(rule.min_priority or 0)
            if ok:
                matched |= rule
        return matched
