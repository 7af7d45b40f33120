from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

# ir.config_parameter keys (and their defaults): at most LIMIT applications per IP address in WINDOW minutes
PARAM_LIMIT = "crowd_service_portal.join_rate_limit"
PARAM_WINDOW = "crowd_service_portal.join_rate_window_minutes"
DEFAULT_LIMIT = 5
DEFAULT_WINDOW = 60
# counters idle for longer than this are deleted by the autovacuum
KEEP_DAYS = 2


class CrowdJoinAttempt(models.Model):
    """The applications sent from one IP address in the current window: the rate limit of the public
    "Join the crowd" form.

    A row per address in the database (not a dict in memory), so every worker and every server count
    together. The row is locked while it is counted: two submissions at the same moment are counted one
    after the other (under REPEATABLE READ, the second one is retried by Odoo and sees the first)."""

    _name = "crowd.join.attempt"
    _description = "Crowd Application Attempts"
    _order = "window_start desc, id desc"

    ip_address = fields.Char(string="IP Address", required=True, readonly=True)
    window_start = fields.Datetime(required=True, readonly=True)
    attempt_count = fields.Integer(string="Attempts", readonly=True)
    spam_count = fields.Integer(string="Spam", readonly=True, help="Submissions with the honeypot field filled.")

    _sql_constraints = [("ip_address_unique", "unique(ip_address)", "One counter per IP address.")]

    @api.model
    def _crowd_limits(self):
        """(limit, window in minutes) from the system parameters; a bad value falls back to the default."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        limits = []
        for key, default in ((PARAM_LIMIT, DEFAULT_LIMIT), (PARAM_WINDOW, DEFAULT_WINDOW)):
            try:
                value = int(get_param(key, default))
            except (TypeError, ValueError):
                value = default
            limits.append(max(value, 1))
        return tuple(limits)

    @api.model
    def _crowd_register(self, ip_address, spam=False):
        """Count one application from ``ip_address``, or refuse it (UserError) when the address has used up
        its limit in the current window. Refused attempts are not counted."""
        ip_address = (ip_address or "unknown")[:64]
        limit, window = self._crowd_limits()
        cr = self.env.cr
        self.flush_model()
        cr.execute(
            """INSERT INTO crowd_join_attempt (ip_address, window_start, attempt_count, spam_count,
                                               create_date, write_date)
               VALUES (%s, now() AT TIME ZONE 'UTC', 0, 0, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
               ON CONFLICT (ip_address) DO NOTHING""",
            [ip_address],
        )
        cr.execute(
            "SELECT id, window_start, attempt_count FROM crowd_join_attempt WHERE ip_address = %s FOR UPDATE",
            [ip_address],
        )
        attempt_id, window_start, count = cr.fetchone()
        now = fields.Datetime.now()
        if window_start < now - timedelta(minutes=window):
            window_start, count = now, 0
        if count >= limit:
            raise UserError(
                self.env._("Too many applications from your network: try again in %(minutes)s minutes.", minutes=window)
            )
        cr.execute(
            """UPDATE crowd_join_attempt
                  SET window_start = %s, attempt_count = %s, spam_count = spam_count + %s,
                      write_date = now() AT TIME ZONE 'UTC'
                WHERE id = %s""",
            [window_start, count + 1, int(bool(spam)), attempt_id],
        )
        self.browse(attempt_id).invalidate_recordset()
        return count + 1

    @api.autovacuum
    def _gc_attempts(self):
        stale = fields.Datetime.now() - timedelta(days=KEEP_DAYS)
        self.sudo().search([("window_start", "<", stale)]).unlink()
