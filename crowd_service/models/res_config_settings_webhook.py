# pylint: disable=consider-merging-classes-inherited
# (dispatch extension kept apart from the expert-pool file on purpose: one feature per file)
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # validated on res.company (_check_crowd_webhook_settings): a bad value refuses the whole save
    crowd_webhook_url = fields.Char(related="company_id.crowd_webhook_url", readonly=False)
    crowd_webhook_secret = fields.Char(
        related="company_id.crowd_webhook_secret", readonly=False, groups="base.group_system"
    )
    crowd_webhook_timeout = fields.Float(related="company_id.crowd_webhook_timeout", readonly=False)
    crowd_webhook_retries = fields.Integer(related="company_id.crowd_webhook_retries", readonly=False)
    crowd_webhook_backoff = fields.Integer(related="company_id.crowd_webhook_backoff", readonly=False)
    crowd_webhook_backoff_max = fields.Integer(related="company_id.crowd_webhook_backoff_max", readonly=False)
