from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class CrowdMoveWizard(models.AbstractModel):
    """What the vendor bill wizard of payouts and the invoice wizard of visits share: the selected
    records (``_records_field``), the ready ones among them, and one run that puts exactly those on
    moves (``crowd.move.source._create_moves``) and opens the moves."""

    _name = "crowd.move.wizard"
    _description = "Create Moves from Crowd Records"

    # set by each wizard
    _records_field = None  # the Many2many of the selected records
    _move_action = "account.action_move_in_invoice_type"

    post = fields.Boolean(default=lambda self: self._default_post())
    record_count = fields.Integer(string="Ready", compute="_compute_record_count")

    def _default_post(self):
        model = self.env[self._fields[self._records_field].comodel_name]
        return self.env.company[model._move_auto_post_field]

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        comodel = self._fields[self._records_field].comodel_name
        if self.env.context.get("active_model") == comodel and self.env.context.get("active_ids"):
            res[self._records_field] = [Command.set(self.env.context["active_ids"])]
        return res

    @api.depends(lambda self: [self._records_field] if self._records_field else [])
    def _compute_record_count(self):
        for wizard in self:
            wizard.record_count = len(wizard._ready_records())

    def _ready_records(self):
        self.ensure_one()
        records = self[self._records_field]
        return records.filtered(lambda r: r.state == r._move_ready_state and not r.move_line_id)

    def _action_create_moves(self, none_ready, done_meanwhile):
        """Put exactly the selected ready records on moves; refuse with ``none_ready`` when none is
        ready, with ``done_meanwhile`` when a concurrent run took them all."""
        self.ensure_one()
        records = self._ready_records()
        if not records:
            raise UserError(none_ready)
        moves = records._create_moves(post=self.post)
        if not moves:
            raise UserError(done_meanwhile)
        action = self.env["ir.actions.act_window"]._for_xml_id(self._move_action)
        action["domain"] = [("id", "in", moves.ids)]
        action["context"] = {"default_move_type": records._move_type}
        if len(moves) == 1:
            action.update({"views": [(False, "form")], "res_id": moves.id, "view_mode": "form"})
        return action
