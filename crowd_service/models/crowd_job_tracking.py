# pylint: disable=consider-merging-classes-inherited
# (the phone's live tracking kept apart on purpose: one feature per file)
"""Live tracking of a visit: the expert's phone sends its position while online or on the way, with the
expert's consent; each job the expert is on the way to gets a live ETA (the engine's geo ETA) and a bus
notification on the job's tracking channel, which the customer's tracking page listens to.

The live position and ETA live in ``crowd.job.tracking`` (one row per job), not on the job: a position
ping is not a change of the job (an action queued offline and replayed later is refused only when the job
itself changed, see ``crowd.job.replay``).

The job's side of the offline replay (``action_replay_offline``) lives here too: one extension of
``crowd.job`` for the phone.
"""

import base64
import binascii
import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, consteq
from odoo.tools.mimetypes import guess_mimetype
from odoo.tools.misc import format_datetime

from crowd_dispatch.geo import eta_minutes, geodesic_km

from .crowd_job import URGENT_PRIORITY
from .crowd_job_replay import KEY_PATTERN, MAX_VALUE_TEXT, REPLAY_ACTIONS

# the server keeps at most one position per expert in this many seconds (the phone sends every 30 s at most)
POSITION_MIN_INTERVAL_S = 25
# the tracking page's bus notification type and subchannel
# photos of a report made offline, sent with its replay (base64 in the JSON body, under the proxy's limit)
MAX_OFFLINE_PHOTOS = 4
MAX_OFFLINE_PHOTO_BYTES = 5 * 1024 * 1024
TRACKING_NOTIFICATION = "crowd_tracking"
TRACKING_SUBCHANNEL = "tracking"
# the expert's own decision and their phone's reports: written by the system only
CONSENT_FIELDS = {"crowd_location_consent", "crowd_location_consent_at", "crowd_position_at"}


class CrowdJobTracking(models.Model):
    _name = "crowd.job.tracking"
    _description = "Live Tracking of a Crowd Job"
    _order = "recorded_at desc, id desc"
    _rec_name = "job_id"
    _check_company_auto = True

    job_id = fields.Many2one("crowd.job", string="Job", required=True, readonly=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="job_id.company_id", store=True, index=True)
    expert_id = fields.Many2one("res.partner", string="Expert", required=True, readonly=True, index=True)
    latitude = fields.Float(digits=(10, 7), readonly=True)
    longitude = fields.Float(digits=(10, 7), readonly=True)
    recorded_at = fields.Datetime("Position Received", readonly=True)
    distance_km = fields.Float("Distance to Site (km)", digits=(10, 2), readonly=True)
    eta_min = fields.Float("Live ETA (min)", digits=(10, 1), readonly=True)
    eta_at = fields.Datetime("Live Expected Arrival", readonly=True)

    _sql_constraints = [("job_unique", "unique(job_id)", "A job has one live tracking.")]


class CrowdJob(models.Model):
    _inherit = "crowd.job"

    tracking_ids = fields.One2many(
        "crowd.job.tracking", "job_id", string="Live Tracking", readonly=True, groups="crowd_service.group_crowd_user"
    )
    live_eta_at = fields.Datetime("Live Expected Arrival", compute="_compute_live_tracking")
    live_position_at = fields.Datetime("Expert Position Received", compute="_compute_live_tracking")

    @api.depends("tracking_ids.eta_at", "tracking_ids.recorded_at")
    def _compute_live_tracking(self):
        for job in self:
            # sudo: the job was read by the caller; its live tracking is shown with it
            tracking = job.sudo().tracking_ids[:1]
            job.live_eta_at = tracking.eta_at
            job.live_position_at = tracking.recorded_at

    # ------------------------------------------------------------------ actions
    def action_report_position(self, lat, lon):
        """The job's expert, on the way, sends their phone's position: the job's live ETA is updated and the
        customer's tracking page hears about it. Returns what :meth:`res.partner.crowd_report_position`
        returns."""
        self.ensure_one()
        # read access first: a foreign or unknown job answers like one that does not exist
        self.check_access("read")
        partner = self.env.user.partner_id
        if self.expert_id != partner:
            raise AccessError(self.env._("Only the job's expert shares their position on the way to it."))
        if self.state != "en_route":
            raise UserError(self.env._("Your position is shared with the customer while you are on your way."))
        return partner.crowd_report_position(lat, lon)

    # ------------------------------------------------------------------ system
    def _crowd_track(self, lat, lon, now):
        """Record the expert's position on these en-route jobs, with the engine's ETA to each site, and tell
        each job's tracking channel (system: called after the expert, the consent and the input were checked)."""
        engine = self.env["crowd.dispatch.engine"]
        Tracking = self.env["crowd.job.tracking"].sudo()
        for job in self.sudo():
            vals = {"expert_id": job.expert_id.id, "latitude": lat, "longitude": lon, "recorded_at": now}
            if job.latitude or job.longitude:
                policy = engine._policy(engine._rule_for(job))
                distance = geodesic_km(lat, lon, job.latitude, job.longitude)
                minutes = eta_minutes(distance, policy.speed_kmh, policy.road_factor)
                vals.update(distance_km=distance, eta_min=minutes, eta_at=now + timedelta(minutes=minutes))
            if job.tracking_ids:
                job.tracking_ids[:1].write(vals)
            else:
                Tracking.create(dict(vals, job_id=job.id))
            job._crowd_publish_tracking()

    def _crowd_tracking_payload(self):
        """What the tracking page needs to update itself: state, live ETA, the expert's position on the way."""
        self.ensure_one()
        job = self.sudo()
        tracking = job.tracking_ids[:1] if job.state == "en_route" else job.tracking_ids.browse()
        eta_at = tracking.eta_at or job.eta_at
        payload = {
            "job_id": job.id,
            "state": job.state,
            "eta_at": eta_at and fields.Datetime.to_string(eta_at),
            "eta_min": round(tracking.eta_min) if tracking else None,
            "distance_km": round(tracking.distance_km, 1) if tracking else None,
            "recorded_at": tracking.recorded_at and fields.Datetime.to_string(tracking.recorded_at),
            "expert": {"lat": tracking.latitude, "lon": tracking.longitude} if tracking else None,
            # when it was made (seconds since the epoch, server clock): a page ignores what is older than
            # itself (the bus replays a channel's recent notifications to a new subscriber)
            "sent_at": time.time(),
        }
        return payload

    def _crowd_publish_tracking(self):
        """Tell the tracking page of each job (bus channel (job, "tracking"), subscribed by the page after its
        access check, see ir.websocket) its state and live ETA."""
        Bus = self.env["bus.bus"].sudo()
        for job in self:
            Bus._sendone((job, TRACKING_SUBCHANNEL), TRACKING_NOTIFICATION, job._crowd_tracking_payload())

    def _crowd_set_state(self, state, now=None, **vals):
        result = super()._crowd_set_state(state, now=now, **vals)
        # the tracking page follows the visit: on the way, on site, done, cancelled
        self._crowd_publish_tracking()
        return result

    @api.model
    def _crowd_tracking_channel_job(self, channel):
        """The job of a tracking channel name sent by a browser (``crowd.job.tracking:<id>[:<token>]``) when the
        session's user may follow it (read access, or the job's portal access token), else None."""
        parts = channel.split(":")
        if parts[0] != "crowd.job.tracking" or len(parts) not in (2, 3) or not parts[1].isdigit():
            return None
        job_id = int(parts[1])
        if not 0 < job_id < 2**31:
            return None
        job = self.browse(job_id)
        # sudo: existence and token check only; the user's own access is checked without sudo
        job_sudo = job.sudo().exists()
        if not job_sudo:
            return None
        if len(parts) == 3:
            return job_sudo if job_sudo._crowd_check_token(parts[2]) else None
        if self.env.user._is_public() or not job.has_access("read"):
            return None
        return job_sudo

    def _crowd_check_token(self, token):
        """The job's portal access token matches ``token`` (constant-time)."""
        self.ensure_one()
        return bool(token and self.access_token and consteq(self.access_token, token))

    # ------------------------------------------------------------------ offline replay
    def _crowd_version(self):
        """The job's version as the phone sees it: the last write date, to the microsecond."""
        self.ensure_one()
        self.flush_recordset()
        self.invalidate_recordset(["write_date"])
        return self.write_date.isoformat() if self.write_date else ""

    def action_replay_offline(self, key, action, values, seen_state, seen_version, queued_at=None, photos=None):
        """Run ``action`` (en_route, check_in, report, complete) with ``values`` made offline on the expert's
        phone, exactly once per ``key``, and only if the job is still as the phone saw it (``seen_state``,
        ``seen_version``). A report may bring ``photos``: ``[{"name", "data" (base64)}]``, at most
        MAX_OFFLINE_PHOTOS of MAX_OFFLINE_PHOTO_BYTES each, attached only when the report is applied.
        Returns ``{"result": "applied"|"refused", "message", "duplicate", "state", "version"}``; a refused
        action changed nothing."""
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
        files = self._crowd_replay_photos(action, photos)
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
                    self._crowd_replay_run(action, values, files)
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

    def _crowd_replay_photos(self, action, photos):
        """The checked photos of an offline report: ``[(name, bytes)]``. Raises on anything else."""
        if not photos:
            return []
        if action != "report":
            raise ValidationError(self.env._("Only a report sent from the phone brings photos."))
        if not isinstance(photos, list) or len(photos) > MAX_OFFLINE_PHOTOS:
            raise ValidationError(self.env._("A report made offline brings at most %s photos.", MAX_OFFLINE_PHOTOS))
        files = []
        for photo in photos:
            name, data = (photo.get("name"), photo.get("data")) if isinstance(photo, dict) else (None, None)
            if not isinstance(name, str) or not name.strip() or not isinstance(data, str):
                raise ValidationError(self.env._("Each photo of an offline report has a name and its content."))
            if len(data) > (MAX_OFFLINE_PHOTO_BYTES * 4) // 3 + 4:
                raise ValidationError(
                    self.env._("%s is larger than 5 MB: add it once you are back online.", name[:200])
                )
            try:
                raw = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError(self.env._("%s could not be read.", name[:200])) from None
            if not raw:
                raise ValidationError(self.env._("%s could not be read.", name[:200]))
            files.append((name.strip()[:200], raw))
        return files

    def _crowd_replay_run(self, action, values, files=()):
        """The ONE checked job method of an offline action, with the values (and a report's photos) the phone
        queued."""
        if action == "en_route":
            return self.action_en_route(values.get("eta_minutes"))
        if action == "check_in":
            return self.action_check_in(values.get("latitude"), values.get("longitude"))
        if action == "report":
            notes = values.get("notes")
            # sudo: the user's own unlinked uploads, as the online form makes them; action_report checks their
            # owner and type (the bytes, not the name) before linking them
            uploads = (
                self.env["ir.attachment"]
                .sudo()
                .create([{"name": name, "raw": raw, "mimetype": guess_mimetype(raw)} for name, raw in files])
            )
            return self.action_report(notes.strip() if isinstance(notes, str) else notes, attachment_ids=uploads.ids)
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


class ResPartner(models.Model):
    _inherit = "res.partner"

    crowd_location_consent = fields.Boolean(
        "Shares Live Position",
        readonly=True,
        copy=False,
        help="The expert allowed their phone to send its position while online or on the way to a job "
        "(set and revoked by the expert on their portal profile).",
    )
    crowd_location_consent_at = fields.Datetime("Position Consent Changed", readonly=True, copy=False)
    crowd_position_at = fields.Datetime("Position Received", readonly=True, copy=False)

    def write(self, vals):
        if not self.env.su and vals.keys() & CONSENT_FIELDS:
            # the expert's own decision (crowd_set_location_consent) and the phone's reports, never a form's
            raise AccessError(self.env._("Only the expert shares or stops sharing their position, from their profile."))
        return super().write(vals)

    def _crowd_check_own_position(self):
        """Only an expert sends their own position or decides to share it."""
        self.ensure_one()
        # sudo: the crowd fields of a partner are for crowd staff; the user's own partner is read
        if self != self.env.user.partner_id or not self.sudo().is_crowd_expert:
            raise AccessError(self.env._("Only an expert shares their own position."))

    def crowd_set_location_consent(self, consent):
        """The expert allows (True) or stops (False) their phone sending its position; stopping also removes
        their last position from the tracking pages of their jobs."""
        self._crowd_check_own_position()
        if not isinstance(consent, bool):
            raise UserError(self.env._("Sharing your position is yes or no."))
        # sudo: the expert's own profile (checked above); the consent fields are written by the system only
        partner = self.sudo()
        now = fields.Datetime.now()
        partner.write({"crowd_location_consent": consent, "crowd_location_consent_at": now})
        if not consent:
            trackings = self.env["crowd.job.tracking"].sudo().search([("expert_id", "=", self.id)])
            jobs = trackings.job_id
            trackings.unlink()
            jobs._crowd_publish_tracking()
        return True

    def crowd_report_position(self, latitude, longitude):
        """The expert's phone sends where it is (with the expert's consent, while online or on the way to a
        job). Kept at most once per ``POSITION_MIN_INTERVAL_S`` seconds: a report sooner changes nothing and
        answers ``{"recorded": False, "retry_after": seconds}``. Otherwise the expert's position is updated
        (the dispatch uses it), each job they are on the way to gets a live ETA and its tracking page is told,
        and the answer is ``{"recorded": True, "jobs": [{"id", "eta_min"}]}``."""
        self._crowd_check_own_position()
        partner = self.sudo()  # the user's own profile (checked above)
        if not partner.crowd_location_consent:
            raise UserError(self.env._("Allow sharing your position on your profile first."))
        number = self.env["crowd.job"]._crowd_number
        lat = number(latitude, self.env._("The latitude"), -90, 90)
        lon = number(longitude, self.env._("The longitude"), -180, 180)
        # sudo: the expert's own jobs (the expert was checked above)
        jobs = self.env["crowd.job"].sudo().search([("expert_id", "=", self.id), ("state", "=", "en_route")])
        if not partner.crowd_online and not jobs:
            raise UserError(self.env._("Your position is only sent while you are online or on your way to a job."))
        now = fields.Datetime.now()
        # one atomic claim of the slot: two reports at the same moment record one position
        self.env.cr.execute(
            SQL(
                """UPDATE res_partner SET crowd_position_at = %s
                    WHERE id = %s AND (crowd_position_at IS NULL OR crowd_position_at <= %s)
                RETURNING id""",
                now,
                self.id,
                now - timedelta(seconds=POSITION_MIN_INTERVAL_S),
            )
        )
        if not self.env.cr.fetchone():
            partner.invalidate_recordset(["crowd_position_at"])
            waited = (now - partner.crowd_position_at).total_seconds() if partner.crowd_position_at else 0
            return {"recorded": False, "retry_after": max(1, int(POSITION_MIN_INTERVAL_S - waited))}
        partner.invalidate_recordset(["crowd_position_at"])
        partner.write({"partner_latitude": lat, "partner_longitude": lon, "crowd_last_seen": now})
        jobs._crowd_track(lat, lon, now)
        if jobs.filtered(lambda j: j.priority != URGENT_PRIORITY):
            # on the way to a visit that is not urgent, and where they are is known now: an urgent job that waits
            # (nobody free, or for an expert finishing) may divert them (the dispatch policy's ``divert``)
            jobs[:1]._crowd_wake_waiting(jobs[:1].company_id, now, lat, lon, codes=("lookahead", "no_candidate"))
        etas = [{"id": job.id, "eta_min": round(job.tracking_ids[:1].eta_min)} for job in jobs]
        return {"recorded": True, "jobs": etas}
