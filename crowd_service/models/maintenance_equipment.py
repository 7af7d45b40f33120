from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError

CROWD_CRITICALITY = [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")]


class MaintenanceEquipment(models.Model):
    _inherit = "maintenance.equipment"

    crowd_customer_id = fields.Many2one("res.partner", string="Customer", help="Owner of the asset.")
    crowd_site_id = fields.Many2one(
        "res.partner",
        string="Service Site",
        compute="_compute_crowd_site_id",
        store=True,
        readonly=False,
        help="Address where the asset is serviced.",
    )
    crowd_latitude = fields.Float(
        string="Latitude", digits=(10, 7), compute="_compute_crowd_position", store=True, readonly=False
    )
    crowd_longitude = fields.Float(
        string="Longitude", digits=(10, 7), compute="_compute_crowd_position", store=True, readonly=False
    )
    crowd_required_skill_ids = fields.One2many(
        "crowd.required.skill",
        "equipment_id",
        string="Required Skills",
        compute="_compute_crowd_requirements",
        store=True,
        readonly=False,
        copy=True,
    )
    crowd_certificate_type_ids = fields.Many2many(
        "crowd.certificate.type",
        "crowd_equipment_certificate_type_rel",
        "equipment_id",
        "type_id",
        string="Required Certificates",
        compute="_compute_crowd_requirements",
        store=True,
        readonly=False,
    )
    crowd_criticality = fields.Selection(CROWD_CRITICALITY, string="Criticality", default="medium")

    @api.depends("crowd_customer_id")
    def _compute_crowd_site_id(self):
        for equipment in self:
            if not equipment.crowd_site_id and equipment.crowd_customer_id:
                equipment.crowd_site_id = equipment.crowd_customer_id

    @api.depends("crowd_site_id")
    def _compute_crowd_position(self):
        for equipment in self:
            site = equipment.crowd_site_id
            if site and (site.partner_latitude or site.partner_longitude):
                equipment.crowd_latitude = site.partner_latitude
                equipment.crowd_longitude = site.partner_longitude

    @api.depends("category_id")
    def _compute_crowd_requirements(self):
        """Default the requirements from the category; later edits on the equipment are kept
        until the category changes (the lines are deliberately not recomputed when the
        category's own lines change)."""
        for equipment in self:
            category = equipment.category_id
            if not category:
                continue
            equipment.crowd_required_skill_ids = [Command.clear()] + [
                Command.create(vals) for vals in category.crowd_required_skill_ids._crowd_copy_vals()
            ]
            equipment.crowd_certificate_type_ids = [Command.set(category.crowd_certificate_type_ids.ids)]

    @api.constrains("crowd_latitude", "crowd_longitude")
    def _check_crowd_coordinates(self):
        for equipment in self:
            _check_lat_lon(self.env, equipment.crowd_latitude, equipment.crowd_longitude, equipment.display_name)


def _check_lat_lon(env, lat, lon, name):
    if not -90.0 <= (lat or 0.0) <= 90.0:
        raise ValidationError(
            env._("Invalid latitude %(lat)s for %(name)s: it must be between -90 and 90.", lat=lat, name=name)
        )
    if not -180.0 <= (lon or 0.0) <= 180.0:
        raise ValidationError(
            env._("Invalid longitude %(lon)s for %(name)s: it must be between -180 and 180.", lon=lon, name=name)
        )
