from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from .crowd_job import ACTIVE_VISIT_STATES, CLOSED_STATES
from .crowd_vocabulary import CROWD_TIERS
from .maintenance_equipment import _check_lat_lon


class MaintenanceRequest(models.Model):
    """The customer's problem on an asset. Each visit is a ``crowd.job``; the stage follows the jobs."""

    _inherit = "maintenance.request"

    crowd_site_id = fields.Many2one(
        "res.partner",
        string="Service Site",
        compute="_compute_crowd_from_equipment",
        store=True,
        readonly=False,
    )
    crowd_latitude = fields.Float(
        string="Latitude", digits=(10, 7), compute="_compute_crowd_from_equipment", store=True, readonly=False
    )
    crowd_longitude = fields.Float(
        string="Longitude", digits=(10, 7), compute="_compute_crowd_from_equipment", store=True, readonly=False
    )
    crowd_required_skill_ids = fields.One2many(
        "crowd.required.skill",
        "request_id",
        string="Required Skills",
        compute="_compute_crowd_requirements",
        store=True,
        readonly=False,
        copy=True,
    )
    crowd_certificate_type_ids = fields.Many2many(
        "crowd.certificate.type",
        "crowd_request_certificate_type_rel",
        "request_id",
        "type_id",
        string="Required Certificates",
        compute="_compute_crowd_requirements",
        store=True,
        readonly=False,
    )
    crowd_min_tier = fields.Selection(CROWD_TIERS, string="Minimum Tier")
    crowd_requested_at = fields.Datetime("Reported At", copy=False, readonly=True)
    crowd_sla_deadline = fields.Datetime(
        string="SLA Deadline",
        compute="_compute_crowd_sla_deadline",
        store=True,
        readonly=False,
        tracking=True,
        help="Computed from the priority and the matching dispatch rule (or the company's SLA durations); "
        "can be overridden before the first visit is dispatched.",
    )
    crowd_currency_id = fields.Many2one(related="company_id.currency_id", string="Crowd Currency")
    crowd_cost_ceiling = fields.Monetary(
        "Cost Ceiling", currency_field="crowd_currency_id", help="Maximum cost of a visit; 0 = no ceiling."
    )
    crowd_job_ids = fields.One2many("crowd.job", "request_id", string="Visits", readonly=True)
    crowd_job_count = fields.Integer("Visit Count", compute="_compute_crowd_job_id", store=True)
    crowd_job_id = fields.Many2one("crowd.job", string="Current Visit", compute="_compute_crowd_job_id", store=True)
    crowd_state = fields.Selection(related="crowd_job_id.state", string="Visit State")
    crowd_expert_id = fields.Many2one(related="crowd_job_id.expert_id", string="Expert")

    _sql_constraints = [
        ("crowd_cost_ceiling_positive", "CHECK(crowd_cost_ceiling >= 0)", "The cost ceiling cannot be negative."),
    ]

    # ------------------------------------------------------------------ computes
    @api.depends("equipment_id")
    def _compute_crowd_from_equipment(self):
        for request in self:
            equipment = request.equipment_id
            if not equipment:
                continue
            request.crowd_site_id = equipment.crowd_site_id
            request.crowd_latitude = equipment.crowd_latitude
            request.crowd_longitude = equipment.crowd_longitude

    @api.depends("equipment_id")
    def _compute_crowd_requirements(self):
        for request in self:
            equipment = request.equipment_id
            if not equipment:
                continue
            request.crowd_required_skill_ids = [Command.clear()] + [
                Command.create(vals) for vals in equipment.crowd_required_skill_ids._crowd_copy_vals()
            ]
            request.crowd_certificate_type_ids = [Command.set(equipment.crowd_certificate_type_ids.ids)]

    @api.depends("priority", "company_id")
    def _compute_crowd_sla_deadline(self):
        now = fields.Datetime.now()
        for request in self:
            start = request.create_date or now
            request.crowd_sla_deadline = start + timedelta(minutes=request._crowd_sla_minutes())

    @api.depends("crowd_job_ids.state")
    def _compute_crowd_job_id(self):
        for request in self:
            jobs = request.crowd_job_ids.sorted("id")
            request.crowd_job_count = len(jobs)
            current = jobs.filtered(lambda j: j.state not in CLOSED_STATES)
            request.crowd_job_id = (current or jobs.filtered(lambda j: j.state == "done") or jobs)[-1:]

    @api.constrains("crowd_latitude", "crowd_longitude")
    def _check_crowd_coordinates(self):
        for request in self:
            _check_lat_lon(self.env, request.crowd_latitude, request.crowd_longitude, request.display_name)

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        requests = super().create(vals_list)
        now = self.env["crowd.job"]._crowd_now()
        for request, vals in zip(requests, vals_list):
            request.crowd_requested_at = now
            rule = self.env["crowd.dispatch.rule"]._find_for_request(request)
            if rule and "crowd_sla_deadline" not in vals:
                # same start as the SLA compute, now with the rule's minutes
                request.crowd_sla_deadline = (request.create_date or now) + timedelta(
                    minutes=request._crowd_sla_minutes()
                )
        jobs = self.env["crowd.job"]
        for request in requests.filtered(lambda r: r.crowd_latitude or r.crowd_longitude):
            jobs |= self.env["crowd.job"]._crowd_create_for(request)
        jobs._crowd_auto_dispatch(now)
        return requests

    @api.ondelete(at_uninstall=False)
    def _unlink_except_crowd_visits(self):
        """Deleting a request deletes its visits: only those who may delete visits may do it (the others
        cancel the visit instead)."""
        if not self.env.su:
            self.crowd_job_ids.check_access("unlink")

    # ------------------------------------------------------------------ helpers
    def _crowd_sla_minutes(self):
        """Minutes from creation to the SLA deadline: the matching dispatch rule's value for the priority,
        else the company's ``crowd_sla_minutes_<priority>`` (no priority = 0)."""
        self.ensure_one()
        rule = self.env["crowd.dispatch.rule"]._find_for_request(self)
        minutes = rule._sla_minutes(self.priority) if rule else 0
        company = self.company_id or self.env.company
        return minutes or company[f"crowd_sla_minutes_{self.priority or '0'}"] or 0

    def _crowd_customer(self):
        self.ensure_one()
        return self.crowd_site_id.commercial_partner_id or self.equipment_id.crowd_customer_id

    def _crowd_sync_stage(self):
        """Odoo's stage follows the visits: a visit under way puts the request in progress, a done visit
        with nothing left open closes it, and a request whose visits were all cancelled is archived
        (maintenance's own way of dropping a request)."""
        Stage = self.env["maintenance.stage"].sudo()
        done_stage = Stage.search([("done", "=", True)], order="sequence, id", limit=1)
        open_stages = Stage.search([("done", "=", False)], order="sequence, id", limit=2)
        progress_stage = open_stages[1:2] or open_stages[:1]
        under_way = set(ACTIVE_VISIT_STATES) | {"dispatching", "offered", "escalated"}
        for request in self.sudo():
            states = set(request.crowd_job_ids.mapped("state"))
            vals = {}
            if states - set(CLOSED_STATES):
                if states & under_way and (request.stage_id.done or request.stage_id == open_stages[:1]):
                    vals["stage_id"] = progress_stage.id
                if request.archive:
                    vals["archive"] = False
            elif "done" in states:
                if done_stage and not request.stage_id.done:
                    vals["stage_id"] = done_stage.id
            elif states == {"cancelled"} and not request.archive:
                vals["archive"] = True
            if vals.get("stage_id") == request.stage_id.id:
                vals.pop("stage_id")
            if vals:
                request.write(vals)

    def action_crowd_new_job(self):
        """A dispatcher opens a new visit on this request (none may be open already)."""
        self.env["crowd.job"]._crowd_check_dispatcher()
        self.check_access("write")
        jobs = self.env["crowd.job"]
        for request in self:
            if request.crowd_job_ids.filtered(lambda j: j.state not in CLOSED_STATES):
                raise UserError(self.env._("Request %s already has a visit under way.", request.name))
            if not (request.crowd_latitude or request.crowd_longitude):
                raise UserError(
                    self.env._("Request %s has no site position: set the site's coordinates first.", request.name)
                )
            jobs |= self.env["crowd.job"]._crowd_create_for(request)
        jobs._crowd_auto_dispatch()
        return self.action_view_crowd_jobs() if len(self) == 1 else True

    def action_view_crowd_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crowd_service.action_crowd_job")
        action["domain"] = [("request_id", "=", self.id)]
        action["context"] = {"create": False}
        return action
