from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model
    def _signup_create_user(self, values):
        """Odoo's signup (auth_signup) of a crowd applicant creates their user archived: confirming the
        e-mail gives no access; the dispatcher's approval activates the user (portal access)."""
        user = super()._signup_create_user(values)
        partner = user.partner_id
        # sudo: the applicant's partner carries the crowd fields, which are for crowd staff
        if partner.sudo().is_crowd_expert and partner.sudo().crowd_state == "applied":
            user.sudo().active = False
        return user
