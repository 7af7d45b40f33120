"""Visit actions made offline on the expert's phone, sent again when it is back online: each exactly once.

The phone gives every queued action a key of its own (an idempotency key) and the job's state and
version (write date) it saw. The first replay of a key runs the action, through the same checked job
method as online, unless the job changed meanwhile; the key and the result are stored (unique per user),
so a second replay of the same key answers the stored result and changes nothing.
"""

import re
from datetime import timedelta

from odoo import api, fields, models

REPLAY_ACTIONS = [
    ("en_route", "On My Way"),
    ("check_in", "Check-in"),
    ("report", "Report"),
    ("complete", "Completion"),
]
REPLAY_RESULTS = [("applied", "Applied"), ("refused", "Refused")]
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_VALUE_TEXT = 10000
KEEP_DAYS = 30


class CrowdJobReplay(models.Model):
    """The log of the keys: read-only for dispatchers, deleted by nobody (a deleted key could be replayed
    again) but the autovacuum after KEEP_DAYS."""

    _name = "crowd.job.replay"
    _description = "Offline Action of a Crowd Job"
    _order = "id desc"
    _rec_name = "key"
    _check_company_auto = True

    user_id = fields.Many2one("res.users", string="User", required=True, readonly=True, index=True, ondelete="cascade")
    key = fields.Char("Idempotency Key", required=True, readonly=True)
    job_id = fields.Many2one("crowd.job", string="Job", required=True, readonly=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="job_id.company_id", store=True, index=True)
    action = fields.Selection(REPLAY_ACTIONS, required=True, readonly=True)
    result = fields.Selection(REPLAY_RESULTS, readonly=True)
    message = fields.Char(readonly=True)
    queued_at = fields.Datetime(
        "Made on the Phone At", readonly=True, help="The phone's clock when the action was made."
    )

    _sql_constraints = [("user_key_unique", "unique(user_id, key)", "An offline action is sent once.")]

    @api.autovacuum
    def _gc_replays(self):
        """Keys are kept a month: a phone offline longer replays nothing it queued before."""
        self.search([("create_date", "<", fields.Datetime.now() - timedelta(days=KEEP_DAYS))]).unlink()
