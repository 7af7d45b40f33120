from odoo import api, models
from odoo.exceptions import ValidationError
from odoo.tools import plaintext2html

from odoo.addons.crowd_service.models.crowd_vocabulary import priority_selection

MAX_NAME = 200
MAX_DESCRIPTION = 5000
DEFAULT_PRIORITY = "2"


class MaintenanceRequest(models.Model):
    _inherit = "maintenance.request"

    @api.model
    def crowd_request_service(self, equipment_id, name, description=None, priority=None):
        """A customer reports a problem on one of their company's assets; returns the new request (its first
        visit is created and dispatched as for any request).

        Checks the caller (the asset must be readable by them and belong to their company) and the input;
        writes only the subject, the details, the priority and the asset.
        """
        customer = self.env.user.commercial_partner_id
        Equipment = self.env["maintenance.equipment"]
        equipment = Equipment
        if isinstance(equipment_id, int) and not isinstance(equipment_id, bool) and 0 < equipment_id < 2**31:
            equipment = Equipment.browse(equipment_id).exists()
        # a foreign asset is refused like an unknown one: the answer does not tell which ids exist
        if not equipment or not equipment.has_access("read") or equipment.crowd_customer_id != customer:
            raise ValidationError(self.env._("Choose one of your company's equipment."))
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(self.env._("Describe the problem in a few words."))
        if len(name.strip()) > MAX_NAME:
            raise ValidationError(self.env._("The problem is described in at most %s characters.", MAX_NAME))
        if description is not None and not isinstance(description, str):
            raise ValidationError(self.env._("The details are a text."))
        if description and len(description) > MAX_DESCRIPTION:
            raise ValidationError(self.env._("The details are at most %s characters long.", MAX_DESCRIPTION))
        priority = DEFAULT_PRIORITY if priority is None else priority
        if priority not in dict(priority_selection(self.env)):
            raise ValidationError(self.env._("Unknown priority."))
        # sudo: customers cannot create requests; the asset, the caller and every value were checked above,
        # and only these fields are written
        created = (
            self.sudo()
            .with_company(equipment.company_id or self.env.company)
            .create(
                {
                    "name": name.strip(),
                    "description": plaintext2html(description.strip()) if description else False,
                    "priority": priority,
                    "equipment_id": equipment.id,
                    "maintenance_type": "corrective",
                }
            )
        )
        created._crowd_set_portal_responsible()
        return created.with_env(self.env)

    def _crowd_set_portal_responsible(self):
        """A request a customer reported answers to a real dispatcher, not to whoever the asset's defaults
        name (OdooBot for assets created by the system)."""
        for request in self:
            responsible = request._crowd_portal_responsible()
            if responsible:
                request.user_id = responsible
            elif request.user_id and (request.user_id._is_superuser() or request.user_id.share):
                request.user_id = False

    def _crowd_portal_responsible(self):
        """The dispatcher of the request's dispatch rule, else the company's crowd manager, else the first
        member of its maintenance team: an active internal user, never OdooBot."""
        self.ensure_one()
        candidates = (
            self.crowd_job_id.rule_id.dispatcher_id
            | self.company_id.crowd_manager_id
            | self.maintenance_team_id.member_ids
        )
        return candidates.filtered(lambda user: user.active and not user.share and not user._is_superuser())[:1]
