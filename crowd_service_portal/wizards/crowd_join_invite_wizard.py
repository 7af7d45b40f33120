from werkzeug.urls import url_encode

from odoo import api, fields, models, tools
from odoo.exceptions import UserError


class CrowdJoinInviteWizard(models.TransientModel):
    """A dispatcher invites a person to the public "Join the crowd" form, pre-filled by the link's token.

    The token is signed (``odoo.tools.hash_sign``) and expires; it only pre-fills the form: the invited
    person applies, confirms their e-mail and is reviewed like anyone else."""

    _name = "crowd.join.invite.wizard"
    _description = "Invite to Join the Crowd"

    name = fields.Char(required=True)
    email = fields.Char(string="E-mail", required=True)
    company_name = fields.Char(string="Company", help="For a technician of a service partner company.")
    skill_ids = fields.Many2many("crowd.skill", string="Skills", help="Listed first on the form.")
    lang = fields.Selection(
        selection=lambda self: self.env["res.lang"].get_installed(),
        string="Language",
        default=lambda self: self.env.lang,
    )
    join_url = fields.Char(string="Link", readonly=True)

    @api.model
    def _crowd_check_dispatcher(self):
        self.env["res.partner"]._crowd_check_pool_manager()

    def _crowd_url(self):
        self.ensure_one()
        token = self.env["res.partner"]._crowd_join_invite_token(
            self.name.strip(), self.email, self.company_name, self.skill_ids.ids
        )
        return f"{self.get_base_url()}/crowd/join?{url_encode({'invite': token})}"

    def action_send(self):
        """E-mail the invitation link (a pre-filled form) to the person."""
        self.ensure_one()
        self._crowd_check_dispatcher()
        email = tools.email_normalize(self.email or "")
        if not email or not (self.name or "").strip():
            raise UserError(self.env._("Give the name and a valid e-mail address of the person to invite."))
        self.email = email
        self.join_url = self._crowd_url()
        template = self.env.ref("crowd_service_portal.mail_template_crowd_join_invite")
        # sudo: crowd dispatchers send the invitation e-mail (mail.mail), checked above
        template.sudo().with_context(lang=self.lang).send_mail(
            self.id, email_layout_xmlid="mail.mail_notification_light", email_values={"model": False, "res_id": False}
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Invitation sent to %s.", email),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
