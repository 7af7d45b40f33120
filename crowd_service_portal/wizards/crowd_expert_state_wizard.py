from odoo import fields, models


class CrowdExpertStateWizard(models.TransientModel):
    _inherit = "crowd.expert.state.wizard"

    transition = fields.Selection(selection_add=[("reject", "Reject the application")], ondelete={"reject": "cascade"})

    def action_confirm(self):
        self.ensure_one()
        if self.transition == "reject":
            self.partner_ids.action_crowd_join_reject(reason=self.reason)
            return {"type": "ir.actions.act_window_close"}
        return super().action_confirm()
