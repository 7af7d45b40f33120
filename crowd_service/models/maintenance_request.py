from datetime import timedelta

from odoo import Command, api, fields, models

from .maintenance_equipment import _check_lat_lon
from .res_partner import CROWD_TIERS


class MaintenanceRequest(models.Model):
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
    crowd_sla_deadline = fields.Datetime(
        string="SLA Deadline",
        compute="_compute_crowd_sla_deadline",
        store=True,
        readonly=False,
        tracking=True,
        help="Computed from the priority and the company's SLA durations; can be overridden.",
    )

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

    @api.constrains("crowd_latitude", "crowd_longitude")
    def _check_crowd_coordinates(self):
        for request in self:
            _check_lat_lon(self.env, request.crowd_latitude, request.crowd_longitude, request.display_name)

    def _crowd_sla_minutes(self):
        """Minutes from creation to the SLA deadline of this request.

        Default: the company's ``crowd_sla_minutes_<priority>`` (no priority = 0).
        Dispatch rules override this method.
        """
        self.ensure_one()
        company = self.company_id or self.env.company
        return company[f"crowd_sla_minutes_{self.priority or '0'}"] or 0
