# pylint: disable=consider-merging-classes-inherited
# (dispatch extension kept apart from the expert-pool file on purpose: one feature per file)
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .crowd_webhook_delivery import (
    BACKOFF_BASE_MAX,
    BACKOFF_CAP_DEFAULT,
    BACKOFF_CAP_MAX,
    BACKOFF_DEFAULT,
    BACKOFF_MIN,
    RETRIES_DEFAULT,
    RETRIES_MAX,
    TIMEOUT_DEFAULT,
    TIMEOUT_MAX,
    crowd_webhook_clamp_timeout,
    crowd_webhook_url_ok,
)


class ResCompany(models.Model):
    _inherit = "res.company"

    crowd_webhook_url = fields.Char(
        "Push Webhook URL", help="Receives a signed JSON POST for each new offer (http or https)."
    )
    crowd_webhook_secret = fields.Char("Webhook Secret", groups="base.group_system")
    crowd_webhook_timeout = fields.Float(
        "Webhook Timeout (s)",
        default=TIMEOUT_DEFAULT,
        help=f"Seconds to wait for the endpoint's answer, per attempt (more than 0, at most {TIMEOUT_MAX:g}).",
    )
    crowd_webhook_retries = fields.Integer(
        "Webhook Retries",
        default=RETRIES_DEFAULT,
        help=f"Further attempts after a failed first one (0 to {RETRIES_MAX}); then the delivery is failed.",
    )
    crowd_webhook_backoff = fields.Integer(
        "Webhook First Retry Delay (s)",
        default=BACKOFF_DEFAULT,
        help=f"Seconds before the first retry; doubled for each further retry ({BACKOFF_MIN} to {BACKOFF_BASE_MAX}).",
    )
    crowd_webhook_backoff_max = fields.Integer(
        "Webhook Maximum Retry Delay (s)",
        default=BACKOFF_CAP_DEFAULT,
        help=f"The retry delay never exceeds this (at least the first delay, at most {BACKOFF_CAP_MAX}).",
    )

    @api.constrains(
        "crowd_webhook_url",
        "crowd_webhook_timeout",
        "crowd_webhook_retries",
        "crowd_webhook_backoff",
        "crowd_webhook_backoff_max",
    )
    def _check_crowd_webhook_settings(self):
        for company in self:
            if company.crowd_webhook_url and not crowd_webhook_url_ok(company.crowd_webhook_url):
                raise ValidationError(
                    self.env._("The push webhook URL must be an http:// or https:// address with a host.")
                )
            if not 0 < company.crowd_webhook_timeout <= TIMEOUT_MAX:
                # formatted outside the _() call: the translation export reads its arguments as plain literals
                most = f"{TIMEOUT_MAX:g}"
                raise ValidationError(
                    self.env._("The webhook timeout must be more than 0 and at most %(max)s seconds.", max=most)
                )
            if not 0 <= company.crowd_webhook_retries <= RETRIES_MAX:
                raise ValidationError(
                    self.env._("The number of webhook retries must be between 0 and %(max)s.", max=RETRIES_MAX)
                )
            if not BACKOFF_MIN <= company.crowd_webhook_backoff <= BACKOFF_BASE_MAX:
                raise ValidationError(
                    self.env._(
                        "The first webhook retry delay must be between %(min)s and %(max)s seconds.",
                        min=BACKOFF_MIN,
                        max=BACKOFF_BASE_MAX,
                    )
                )
            if not company.crowd_webhook_backoff <= company.crowd_webhook_backoff_max <= BACKOFF_CAP_MAX:
                raise ValidationError(
                    self.env._(
                        "The maximum webhook retry delay must be at least the first retry delay and at most "
                        "%(max)s seconds.",
                        max=BACKOFF_CAP_MAX,
                    )
                )

    def _crowd_webhook_policy(self):
        """The sender's settings, clamped into their bounds whatever the database holds."""
        self.ensure_one()
        backoff = min(max(self.crowd_webhook_backoff or BACKOFF_DEFAULT, BACKOFF_MIN), BACKOFF_BASE_MAX)
        return {
            "timeout": crowd_webhook_clamp_timeout(self.crowd_webhook_timeout),
            "max_attempts": 1 + min(max(self.crowd_webhook_retries or 0, 0), RETRIES_MAX),
            "backoff": backoff,
            "backoff_max": min(max(self.crowd_webhook_backoff_max or BACKOFF_CAP_DEFAULT, backoff), BACKOFF_CAP_MAX),
        }

    def _crowd_webhook_queue(self, event, data):
        """Queue ``event`` for the push webhook: a ``crowd.webhook.delivery`` written in the current
        transaction and sent by its own cron. Returns the delivery (empty without a URL). Never calls
        the endpoint, so it never blocks nor breaks the caller."""
        self.ensure_one()
        return self.env["crowd.webhook.delivery"]._crowd_queue(self, event, data)
