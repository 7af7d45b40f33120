"""Visit actions made offline on the expert's phone, sent again when it is back online: each exactly once.

The phone gives every queued action a key of its own (an idempotency key) and the job's state and
version (write date) it saw. The first replay of a key runs the action, through the same checked job
method as online, unless the job changed meanwhile; the key and the result are stored (unique per user),
so a second replay of the same key answers the stored result and changes nothing.
"""

import re
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import format_datetime

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


class CrowdJob(models.Model):
    _inherit = "crowd.job"

    def _crowd_version(self):
        """The job's version as the phone sees it: the last write date, to the microsecond."""
        self.ensure_one()
        self.flush_recordset()
        self.invalidate_recordset(["write_date"])
        return self.write_date.isoformat() if self.write_date else ""

    def action_replay_offline(self, key, action, values, seen_state, seen_version, queued_at=None):
        """Run ``action`` (en_route, check_in, report, complete) with ``values`` made offline on the expert's
        phone, exactly once per ``key``, and only if the job is still as the phone saw it (``seen_state``,
        ``seen_version``). Returns ``{"result": "applied"|"refused", "message", "duplicate", "state",
        "version"}``; a refused action changed nothing."""
        self.ensure_one()
        # read access first: a foreign or unknown job answers like one that does not exist
        self.check_access("read")
        if self.expert_id != self.env.user.partner_id:
            raise AccessError(self.env._("Only the job's expert sends what they did offline."))
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ValidationError(self.env._("The offline action's key is 8 to 64 letters, digits, - or _."))
        if action not in dict(REPLAY_ACTIONS):
            raise ValidationError(self.env._("Unknown offline action."))
        if not isinstance(values, dict) or any(
            not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > MAX_VALUE_TEXT
            for value in values.values()
        ):
            raise ValidationError(self.env._("The offline action's values are short texts and numbers."))
        if not isinstance(seen_state, str) or not isinstance(seen_version, str):
            raise ValidationError(self.env._("The offline action says which state and version of the job it saw."))
        queued = None
        if queued_at:
            try:
                queued = fields.Datetime.to_datetime(queued_at) if isinstance(queued_at, str) else None
            except ValueError:
                queued = None
            if not queued:
                raise ValidationError(self.env._("The time of the offline action is written YYYY-MM-DD HH:MM:SS."))
        # one replay of this job at a time (the same order as the visit actions: the job's row first)
        self.env.cr.execute(SQL("SELECT id FROM crowd_job WHERE id = %s FOR UPDATE", self.id))
        # the key is claimed before anything runs: a concurrent replay of the same key waits for this one and
        # then finds it (a serialization retry of its request answers the stored result)
        self.env.cr.execute(
            SQL(
                """INSERT INTO crowd_job_replay (user_id, key, job_id, company_id, action, queued_at,
                                                 create_uid, create_date, write_uid, write_date)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC')
                   ON CONFLICT (user_id, key) DO NOTHING
                   RETURNING id""",
                self.env.uid,
                key,
                self.id,
                self.sudo().company_id.id,
                action,
                queued,
                self.env.uid,
                self.env.uid,
            )
        )
        row = self.env.cr.fetchone()
        # sudo: replays are written by the system only; the caller and the input were checked above
        Replay = self.env["crowd.job.replay"].sudo()
        if not row:
            done = Replay.search([("user_id", "=", self.env.uid), ("key", "=", key)], limit=1)
            if done.job_id != self or done.action != action:
                raise ValidationError(self.env._("This offline action's key was already used for another action."))
            return self._crowd_replay_answer(done, duplicate=True)
        replay = Replay.browse(row[0])
        labels = dict(self._fields["state"]._description_selection(self.env))
        if self.state != seen_state or self._crowd_version() != seen_version:
            result, message = (
                "refused",
                self.env._(
                    "The job changed while you were offline (it is now %(state)s): what you did offline was not "
                    "sent. Check the job and do it again if it still applies.",
                    state=labels.get(self.state, self.state),
                ),
            )
        else:
            try:
                with self.env.cr.savepoint():
                    self._crowd_replay_run(action, values)
                result, message = "applied", False
            except (UserError, ValidationError, AccessError) as exc:
                result, message = "refused", exc.args[0]
        replay.write({"result": result, "message": message})
        if result == "applied":
            when = format_datetime(self.env, queued, tz=self.env.user.tz) if queued else "?"
            self.sudo().message_post(
                body=self.env._(
                    "%(action)s made offline on the phone (%(when)s), sent when back online.",
                    action=dict(self.env["crowd.job.replay"]._fields["action"]._description_selection(self.env))[
                        action
                    ],
                    when=when,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return self._crowd_replay_answer(replay)

    def _crowd_replay_run(self, action, values):
        """The ONE checked job method of an offline action, with the values the phone queued."""
        if action == "en_route":
            return self.action_en_route(values.get("eta_minutes"))
        if action == "check_in":
            return self.action_check_in(values.get("latitude"), values.get("longitude"))
        if action == "report":
            notes = values.get("notes")
            return self.action_report(notes.strip() if isinstance(notes, str) else notes)
        resolution = values.get("resolution")
        return self.action_complete(resolution.strip() or None if isinstance(resolution, str) else resolution)

    def _crowd_replay_answer(self, replay, duplicate=False):
        return {
            "result": replay.result,
            "message": replay.message or False,
            "duplicate": duplicate,
            "state": self.state,
            "version": self._crowd_version(),
        }
