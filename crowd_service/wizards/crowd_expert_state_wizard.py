from odoo import api, fields, models


class CrowdExpertStateWizard(models.TransientModel):
    _name = "crowd.expert.state.wizard"
    _description = "Suspend or Offboard Crowd Experts"

    partner_ids = fields.Many2many("res.partner", string="Experts", required=True)
    transition = fields.Selection([("suspend", "Suspend"), ("offboard", "Offboard")], required=True, default="suspend")
    reason = fields.Char(required=True)

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if "partner_ids" in fields_list and self.env.context.get("active_model") == "res.partner":
            res["partner_ids"] = [fields.Command.set(self.env.context.get("active_ids", []))]
        return res

    def action_confirm(self):
        self.ensure_one()
        if self.transition == "suspend":
            self.partner_ids.action_crowd_suspend(reason=self.reason)
        else:
            self.partner_ids.action_crowd_offboard(reason=self.reason)
        return {"type": "ir.actions.act_window_close"}
