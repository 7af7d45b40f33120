"""Live tracking (the expert's position, the customer's live ETA through the bus) and the offline replay of
visit actions (exactly once per idempotency key, refused when the job changed)."""

import base64
import json
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.bus.models.bus import ImBus, channel_with_db, dispatch, json_dump
from odoo.addons.bus.tests.common import WebsocketCase, websocket
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from crowd_dispatch import Policy
from crowd_dispatch.geo import eta_minutes, geodesic_km

SITE = (46.9480, 7.4474)
ON_THE_WAY = (46.9900, 7.4474)  # about 4.7 km north of the site


# a 1×1 PNG
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class CrowdLiveCommon(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        Partner = env["res.partner"]
        cls.customer = Partner.create({"name": "Live Customer", "is_company": True})
        cls.site = Partner.create({"name": "Live Plant", "parent_id": cls.customer.id, "type": "other"})
        cls.equipment = env["maintenance.equipment"].create(
            {"name": "Live Press", "crowd_customer_id": cls.customer.id, "crowd_site_id": cls.site.id,
             "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
        )  # fmt: skip
        cls.expert_user = cls._expert("Lea Live", "live_expert")
        cls.other_expert_user = cls._expert("Olaf Other", "live_other_expert")
        cls.expert = cls.expert_user.partner_id
        cls.customer_user = new_test_user(env, login="live_customer", groups="base.group_portal")
        cls.customer_user.partner_id.parent_id = cls.customer
        cls.dispatcher = new_test_user(env, login="live_dispatcher", groups="crowd_service.group_crowd_user")
        cls.job = cls._assigned_job("Press leaks oil")

    @classmethod
    def _expert(cls, name, login):
        user = new_test_user(cls.env, login=login, name=name, groups="base.group_portal")
        user.partner_id.write(
            {"is_crowd_expert": True, "crowd_kind": "freelance", "crowd_tier": "technician",
             "crowd_state": "active", "partner_latitude": SITE[0], "partner_longitude": SITE[1]}
        )  # fmt: skip
        return user

    @classmethod
    def _assigned_job(cls, name):
        request = cls.env["maintenance.request"].sudo().create({"name": name, "equipment_id": cls.equipment.id})
        job = request.crowd_job_id
        job.offer_ids.sudo().unlink()
        job.sudo().write({"state": "offered", "expert_id": False, "next_check_at": False})
        job.sudo()._crowd_assign(cls.expert)
        return job

    def _json(self, url, **params):
        """A JSON-RPC call of a type="json" route as the page's script makes it."""
        response = self.url_open(
            url,
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json()

    def _tracking_messages(self, job):
        channel = json_dump(channel_with_db(self.env.cr.dbname, (job, "tracking")))
        self.env.cr.precommit.run()  # the bus rows of this (test) transaction
        messages = self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")
        return [json.loads(message.message) for message in messages]

    @staticmethod
    def _expected_eta(lat, lon):
        policy = Policy()
        return eta_minutes(geodesic_km(lat, lon, *SITE), policy.speed_kmh, policy.road_factor)


@tagged("post_install", "-at_install", "crowd_live")
class TestCrowdLiveTracking(CrowdLiveCommon):
    def test_position_updates_eta_on_the_bus(self):
        """The expert on the way sends a position: the job's tracking channel gets the engine's ETA and the
        expert's position, and the customer's page shows that ETA."""
        self.expert.with_user(self.expert_user).crowd_set_location_consent(True)
        self.job.with_user(self.expert_user).action_en_route(45)
        before = len(self._tracking_messages(self.job))
        self.authenticate("live_expert", "live_expert")
        answer = self._json(f"/my/jobs/{self.job.id}/position", latitude=ON_THE_WAY[0], longitude=ON_THE_WAY[1])
        self.assertTrue(answer["result"]["recorded"], answer)
        expected = self._expected_eta(*ON_THE_WAY)
        self.assertEqual(answer["result"]["jobs"], [{"id": self.job.id, "eta_min": round(expected)}])
        messages = self._tracking_messages(self.job)[before:]
        self.assertEqual([m["type"] for m in messages], ["crowd_tracking"])
        payload = messages[0]["payload"]
        self.assertEqual(payload["state"], "en_route")
        self.assertEqual(payload["eta_min"], round(expected))
        self.assertEqual(payload["expert"], {"lat": ON_THE_WAY[0], "lon": ON_THE_WAY[1]})
        tracking = self.job.tracking_ids
        self.assertAlmostEqual((tracking.eta_at - tracking.recorded_at).total_seconds() / 60, expected, places=3)
        self.assertEqual(self.job.live_eta_at, tracking.eta_at)
        # the expert's position is the dispatch's too
        self.assertEqual((self.expert.partner_latitude, self.expert.partner_longitude), ON_THE_WAY)
        # the customer's tracking page (by the e-mailed token, logged out) shows the live ETA and the map
        self.authenticate(None, None)
        page = self.url_open(f"/my/service/{self.job.id}?access_token={self.job._portal_ensure_token()}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("o_crowd_tracking", page.text)
        self.assertIn("o_crowd_live_map", page.text)
        self.assertIn(f"crowd.job.tracking:{self.job.id}:{self.job.access_token}", page.text)
        self.assertTrue(any(f'o_crowd_live_eta_min">{m}<' in page.text for m in (round(expected), round(expected) - 1)))
        self.assertIn("/crowd_service/static/lib/leaflet/leaflet.js", page.text)
        self.assertIn("openstreetmap.org/?mlat=", page.text)

    def test_state_changes_reach_the_tracking_channel(self):
        """On the way, on site: the tracking page hears every state change (and reloads itself)."""
        before = len(self._tracking_messages(self.job))
        job = self.job.with_user(self.expert_user)
        job.action_en_route(15)
        job.action_check_in(*SITE)
        states = [m["payload"]["state"] for m in self._tracking_messages(self.job)[before:]]
        self.assertEqual(states, ["en_route", "on_site"])

    def test_consent_required_and_revocable(self):
        partner = self.expert.with_user(self.expert_user)
        self.job.with_user(self.expert_user).action_en_route(20)
        with self.assertRaises(UserError):
            self.job.with_user(self.expert_user).action_report_position(*ON_THE_WAY)
        self.assertFalse(self.job.tracking_ids)
        self.assertFalse(self.expert.crowd_position_at)
        partner.crowd_set_location_consent(True)
        self.assertTrue(self.expert.crowd_location_consent)
        self.assertTrue(self.expert.crowd_location_consent_at)
        self.assertTrue(self.job.with_user(self.expert_user).action_report_position(*ON_THE_WAY)["recorded"])
        self.assertTrue(self.job.tracking_ids)
        # revoking removes the last position from the customer's page and stops the reports
        before = len(self._tracking_messages(self.job))
        partner.crowd_set_location_consent(False)
        self.assertFalse(self.expert.crowd_location_consent)
        self.assertFalse(self.job.tracking_ids)
        self.assertIsNone(self._tracking_messages(self.job)[before:][-1]["payload"]["expert"])
        with self.assertRaises(UserError):
            partner.crowd_report_position(*ON_THE_WAY)
        # nobody else decides for the expert: not a dispatcher, not by a write
        with self.assertRaises(AccessError):
            self.expert.with_user(self.dispatcher).crowd_set_location_consent(True)
        with self.assertRaises(AccessError):
            self.expert.with_user(self.dispatcher).write({"crowd_location_consent": True})
        with self.assertRaises(UserError):
            partner.crowd_set_location_consent("yes")

    def test_profile_consent_form(self):
        self.authenticate("live_expert", "live_expert")
        page = self.url_open("/my/crowd/profile")
        self.assertIn("o_crowd_consent_on", page.text)
        self.url_open("/my/crowd/location_consent", data={"consent": "1", "csrf_token": self.csrf_token()})
        self.assertTrue(self.expert.crowd_location_consent)
        self.assertIn("o_crowd_consent_off", self.url_open("/my/crowd/profile").text)
        self.url_open("/my/crowd/location_consent", data={"consent": "0", "csrf_token": self.csrf_token()})
        self.assertFalse(self.expert.crowd_location_consent)

    def csrf_token(self):
        page = self.url_open("/my/crowd/profile").text
        marker = 'name="csrf_token" value="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]

    def test_who_when_and_where(self):
        """Only the job's expert, only on the way (or online), bounded coordinates, rate limited."""
        self.expert.with_user(self.expert_user).crowd_set_location_consent(True)
        self.other_expert_user.partner_id.with_user(self.other_expert_user).crowd_set_location_consent(True)
        job = self.job.with_user(self.expert_user)
        # assigned, not on the way, and offline: nothing to share
        with self.assertRaises(UserError):
            job.action_report_position(*ON_THE_WAY)
        with self.assertRaises(UserError):
            self.expert.with_user(self.expert_user).crowd_report_position(*ON_THE_WAY)
        job.action_en_route(20)
        # another expert, and a dispatcher, are not the phone on the way
        with self.assertRaises(AccessError):
            self.job.with_user(self.other_expert_user).action_report_position(*ON_THE_WAY)
        with self.assertRaises(AccessError):
            self.job.with_user(self.dispatcher).action_report_position(*ON_THE_WAY)
        with self.assertRaises(AccessError):
            self.expert.with_user(self.other_expert_user).crowd_report_position(*ON_THE_WAY)
        for lat, lon in ((91, 7.4), (46.9, 181), ("x", 7.4), (None, 7.4), (float("nan"), 7.4)):
            with self.assertRaises(ValidationError):
                job.action_report_position(lat, lon)
        self.assertFalse(self.job.tracking_ids)
        first = job.action_report_position(*ON_THE_WAY)
        self.assertTrue(first["recorded"])
        # a second position right away is not kept
        second = job.action_report_position(SITE[0] + 0.01, SITE[1])
        self.assertEqual(second["recorded"], False)
        self.assertGreater(second["retry_after"], 0)
        self.assertEqual(self.job.tracking_ids.latitude, ON_THE_WAY[0])
        # half a minute later it is
        self.env.cr.execute(
            "UPDATE res_partner SET crowd_position_at = crowd_position_at - interval '30 seconds' WHERE id = %s",
            [self.expert.id],
        )
        self.expert.invalidate_recordset(["crowd_position_at"])
        self.assertTrue(job.action_report_position(SITE[0] + 0.01, SITE[1])["recorded"])
        self.assertEqual(self.job.tracking_ids.latitude, SITE[0] + 0.01)

    def test_online_expert_without_job(self):
        """Online, on no job: the position is the dispatch's, and no tracking channel hears it."""
        partner = self.other_expert_user.partner_id
        partner.with_user(self.other_expert_user).crowd_set_location_consent(True)
        partner.sudo().crowd_set_online(True)
        answer = partner.with_user(self.other_expert_user).crowd_report_position(*ON_THE_WAY)
        self.assertEqual(answer, {"recorded": True, "jobs": []})
        self.assertEqual((partner.partner_latitude, partner.partner_longitude), ON_THE_WAY)

    @mute_logger("odoo.http")
    def test_foreign_job_is_404(self):
        self.other_expert_user.partner_id.with_user(self.other_expert_user).crowd_set_location_consent(True)
        self.job.with_user(self.expert_user).action_en_route(20)
        self.authenticate("live_other_expert", "live_other_expert")
        for job_id in (self.job.id, 987654321):
            answer = self._json(f"/my/jobs/{job_id}/position", latitude=SITE[0], longitude=SITE[1])
            self.assertEqual(answer["error"]["code"], 404)
        self.assertFalse(self.job.tracking_ids)

    def test_tracking_channel_access(self):
        """The page's channel is granted with read access or the job's token, never with a guess."""
        Job = self.env["crowd.job"]
        token = self.job._portal_ensure_token()
        name = f"crowd.job.tracking:{self.job.id}"
        public = self.env.ref("base.public_user")
        self.assertEqual(Job.with_user(public)._crowd_tracking_channel_job(f"{name}:{token}"), self.job)
        self.assertIsNone(Job.with_user(public)._crowd_tracking_channel_job(f"{name}:{token[:-1]}x"))
        self.assertIsNone(Job.with_user(public)._crowd_tracking_channel_job(name))
        self.assertEqual(Job.with_user(self.customer_user)._crowd_tracking_channel_job(name), self.job)
        other_customer = new_test_user(self.env, login="live_other_customer", groups="base.group_portal")
        self.assertIsNone(Job.with_user(other_customer)._crowd_tracking_channel_job(name))
        for bad in ("crowd.job.tracking:x", "crowd.job.tracking:99999999999", "crowd.job.tracking:987654321"):
            self.assertIsNone(Job.with_user(self.customer_user)._crowd_tracking_channel_job(bad))


@tagged("post_install", "-at_install", "crowd_live")
class TestCrowdLiveWebsocket(WebsocketCase, CrowdLiveCommon):
    """The tracking page's subscription over a real websocket: logged out with the job's token, it receives
    the ETA of the expert's next position; with a wrong token it receives nothing."""

    def test_tracking_page_receives_the_eta(self):
        self.expert.with_user(self.expert_user).crowd_set_location_consent(True)
        self.job.with_user(self.expert_user).action_en_route(45)
        token = self.job._portal_ensure_token()
        self.env.flush_all()  # the websocket reads the job (and its token) through its own environment
        self.env.cr.precommit.run()  # the notifications of the steps above are older than the page
        # two browsers of visitors who are not logged in (one public session: a new one would end the first)
        cookie = f"session_id={self.authenticate(None, None).sid}"
        follower = self.websocket_connect(cookie=cookie)
        self.subscribe(follower, [f"crowd.job.tracking:{self.job.id}:{token}"], self.env["bus.bus"]._bus_last_id())
        intruder = self.websocket_connect(cookie=cookie)
        self.subscribe(intruder, [f"crowd.job.tracking:{self.job.id}:wrong"], self.env["bus.bus"]._bus_last_id())
        answer = self.job.with_user(self.expert_user).action_report_position(*ON_THE_WAY)
        self.assertTrue(answer["recorded"])
        self.trigger_notification_dispatching([(self.job, "tracking")])
        notifications = json.loads(follower.recv())
        self.assertEqual(len(notifications), 1)
        message = notifications[0]["message"]
        self.assertEqual(message["type"], "crowd_tracking")
        self.assertEqual(message["payload"]["eta_min"], round(self._expected_eta(*ON_THE_WAY)))
        self.assertEqual(message["payload"]["expert"], {"lat": ON_THE_WAY[0], "lon": ON_THE_WAY[1]})
        # the wrong token subscribed nothing: nothing to dispatch to it
        intruder.settimeout(0.5)
        with self.assertRaises(websocket.WebSocketTimeoutException):
            intruder.recv()


@tagged("post_install", "-at_install", "crowd_live")
class TestCrowdOfflineReplay(CrowdLiveCommon):
    def _replay(self, job, key, action="check_in", values=None, seen=None, queued_at="2026-01-05 10:00:00", **kw):
        job.invalidate_recordset()
        seen_state, seen_version = seen or (job.state, job.sudo()._crowd_version())
        return self._json(
            "/my/crowd/replay",
            job_id=job.id,
            key=key,
            action=action,
            values=values if values is not None else {"latitude": str(SITE[0]), "longitude": str(SITE[1])},
            seen_state=seen_state,
            seen_version=seen_version,
            queued_at=queued_at,
            **kw,
        )

    def test_report_photos_replayed_once(self):
        """A report made offline brings its photos; replayed twice, they are attached once. Bad photos are
        refused with a clear message and change nothing."""
        job = self.job.with_user(self.expert_user)
        job.action_en_route(20)
        job.action_check_in(*SITE)
        seen = (self.job.state, self.job.sudo()._crowd_version())
        self.authenticate("live_expert", "live_expert")
        png = base64.b64encode(PNG_1PX).decode()
        photos = [{"name": "belt.png", "data": png}, {"name": "panel.png", "data": png}]
        Replay = self.env["crowd.job.replay"]

        def refused(key, action="report", **kw):
            answer = self._replay(self.job, key, action, {"notes": "Belt"}, seen, **kw)["result"]
            self.assertEqual(answer["result"], "refused", answer)
            return answer["message"]

        # bad input: an error before anything is stored
        self.assertIn("only a report", refused("photocheckin0001", action="check_in", photos=photos).lower())
        self.assertIn("at most 4 photos", refused("photomany0000001", photos=photos * 3))
        self.assertIn("could not be read", refused("photobad00000001", photos=[{"name": "x.png", "data": "%%%"}]))
        self.assertIn("name and its content", refused("photononame00001", photos=[{"data": png}]))
        self.assertIn(
            "larger than 5 MB", refused("photobig00000001", photos=[{"name": "big.png", "data": "A" * 7_000_100}])
        )
        self.assertFalse(Replay.search([("key", "like", "photo%")]), "nothing stored for bad input")
        # a text file is not a photo: the report is refused (stored as such), nothing attached
        text = base64.b64encode(b"not a photo at all").decode()
        self.assertIn("not a photo or a PDF", refused("phototext0000001", photos=[{"name": "notes.png", "data": text}]))
        self.assertFalse(self.job.report)
        self.assertFalse(self.env["ir.attachment"].search([("name", "=", "notes.png")]))
        # the real report, twice: two photos attached once
        for duplicate in (False, True):
            answer = self._replay(self.job, "photook00000001", "report", {"notes": "Belt changed"}, seen, photos=photos)
            self.assertEqual((answer["result"]["result"], answer["result"]["duplicate"]), ("applied", duplicate))
        self.job.invalidate_recordset()
        self.assertEqual(sorted(self.job.report_attachment_ids.mapped("name")), ["belt.png", "panel.png"])
        self.assertEqual(self.env["ir.attachment"].search_count([("name", "in", ["belt.png", "panel.png"])]), 2)

    def test_check_in_replayed_twice_changes_the_job_once(self):
        self.job.with_user(self.expert_user).action_en_route(20)
        seen = (self.job.state, self.job.sudo()._crowd_version())
        self.authenticate("live_expert", "live_expert")
        first = self._replay(self.job, "a1b2c3d4e5f6a7b8", seen=seen)["result"]
        self.assertEqual((first["result"], first["duplicate"], first["state"]), ("applied", False, "on_site"))
        on_site_at = self.job.on_site_at
        self.assertTrue(on_site_at)
        version = self.job.sudo()._crowd_version()
        self.assertEqual(first["version"], version)
        # the phone did not hear the answer and sends the same action again: the stored answer, no change
        second = self._replay(self.job, "a1b2c3d4e5f6a7b8", seen=seen)["result"]
        self.assertEqual((second["result"], second["duplicate"], second["state"]), ("applied", True, "on_site"))
        self.job.invalidate_recordset()
        self.assertEqual(self.job.on_site_at, on_site_at)
        self.assertEqual(self.job.sudo()._crowd_version(), version)
        replays = self.env["crowd.job.replay"].search([("job_id", "=", self.job.id)])
        self.assertEqual(len(replays), 1)
        self.assertEqual((replays.user_id, replays.action, replays.result), (self.expert_user, "check_in", "applied"))
        self.assertEqual(fields.Datetime.to_string(replays.queued_at), "2026-01-05 10:00:00")
        # one chatter note says it came from the phone's offline queue
        notes = self.job.message_ids.filtered(lambda m: "made offline on the phone" in (m.body or ""))
        self.assertEqual(len(notes), 1)
        # the same key for another action is an error, not a replay
        reused = self._replay(self.job, "a1b2c3d4e5f6a7b8", action="report", values={"notes": "x"})["result"]
        self.assertEqual(reused["result"], "refused")

    def test_stale_replay_is_refused(self):
        """The job changed while the phone was offline: a clear message, nothing changed."""
        self.job.with_user(self.expert_user).action_en_route(20)
        seen = (self.job.state, self.job.sudo()._crowd_version())
        # meanwhile a dispatcher cancels the visit
        self.job.with_user(self.dispatcher).action_cancel("Customer closed the site")
        self.authenticate("live_expert", "live_expert")
        answer = self._replay(self.job, "stale0000000001", seen=seen)["result"]
        self.assertEqual(answer["result"], "refused")
        self.assertIn("changed while you were offline", answer["message"])
        self.assertIn("Cancelled", answer["message"])
        self.assertEqual(self.job.state, "cancelled")
        self.assertFalse(self.job.on_site_at)
        # an older version of the same state is stale too
        job = self._assigned_job("Second press")
        job.with_user(self.expert_user).action_en_route(20)
        answer = self._replay(job, "stale0000000002", seen=("en_route", "2020-01-01T00:00:00"))["result"]
        self.assertEqual(answer["result"], "refused")
        self.assertEqual(job.state, "en_route")
        # the refusal is stored: the same key answers the same refusal
        again = self._replay(job, "stale0000000002", seen=("en_route", "2020-01-01T00:00:00"))["result"]
        self.assertEqual((again["result"], again["duplicate"]), ("refused", True))

    def test_replayed_report_then_completion(self):
        """A report and a completion queued on the same job: the phone continues from the report's version."""
        job = self.job.with_user(self.expert_user)
        job.action_en_route(20)
        job.action_check_in(*SITE)
        seen = (self.job.state, self.job.sudo()._crowd_version())
        self.authenticate("live_expert", "live_expert")
        report = self._replay(self.job, "report00000001", "report", {"notes": "Seal replaced"}, seen)["result"]
        self.assertEqual(report["result"], "applied")
        # completion with the version the report's answer gave (what the phone's queue does)
        done = self._replay(
            self.job, "complete0000001", "complete", {"resolution": "Fixed"}, (report["state"], report["version"])
        )["result"]
        self.assertEqual(done["result"], "applied")
        self.assertEqual(self.job.state, "done")
        self.assertIn("Seal replaced", self.job.report)
        self.assertEqual(self.job.resolution, "Fixed")

    def test_refusals(self):
        job = self.job.with_user(self.expert_user)
        # a refused action (bad input) is stored refused and changed nothing
        job.action_en_route(20)
        self.authenticate("live_expert", "live_expert")
        answer = self._replay(self.job, "badinput00000001", values={"latitude": "95", "longitude": "7"})["result"]
        self.assertEqual(answer["result"], "refused")
        self.assertEqual(self.job.state, "en_route")
        for kwargs in ({"key": "short"}, {"key": "a b c d e f g h"}, {"key": "k" * 65}):
            self.assertEqual(self._replay(self.job, **kwargs)["result"]["result"], "refused")
        self.assertEqual(self._replay(self.job, "unknownaction001", action="unlink")["result"]["result"], "refused")
        self.assertEqual(
            self._replay(self.job, "badqueuedat00001", queued_at="yesterday")["result"]["result"], "refused"
        )
        self.assertEqual(self.job.state, "en_route")
        # only the job's expert replays; a foreign or unknown job is 404
        with self.assertRaises(AccessError):
            self.job.with_user(self.dispatcher).action_replay_offline("dispatcher0001", "check_in", {}, "en_route", "")
        self.authenticate("live_other_expert", "live_other_expert")
        with mute_logger("odoo.http"):
            for job_id in (self.job.id, 987654321):
                answer = self._json(
                    "/my/crowd/replay", job_id=job_id, key="foreign00000001", action="check_in",
                    values={}, seen_state="en_route", seen_version="",
                )  # fmt: skip
                self.assertEqual(answer["error"]["code"], 404)
        self.assertFalse(self.env["crowd.job.replay"].search([("key", "=", "foreign00000001")]))


@tagged("post_install", "-at_install", "crowd_live")
class TestCrowdExpertApp(CrowdLiveCommon):
    def test_manifest_and_service_worker(self):
        manifest = self.url_open("/my/crowd/manifest.webmanifest")
        self.assertEqual(manifest.headers["Content-Type"], "application/manifest+json")
        data = manifest.json()
        self.assertEqual((data["scope"], data["start_url"], data["display"]), ("/my/", "/my/jobs", "standalone"))
        self.assertTrue(any(icon["sizes"] == "512x512" for icon in data["icons"]))
        for icon in data["icons"]:
            self.assertEqual(self.url_open(icon["src"]).status_code, 200)
        worker = self.url_open("/my/crowd/sw.js")
        self.assertEqual(worker.status_code, 200)
        self.assertTrue(worker.headers["Content-Type"].startswith("text/javascript"))
        self.assertEqual(worker.headers["Service-Worker-Allowed"], "/my/")
        self.assertIn('addEventListener("fetch"', worker.text)
        self.assertEqual(self.url_open("/my/crowd/offline").status_code, 200)

    def test_expert_pages_carry_the_app(self):
        self.authenticate("live_expert", "live_expert")
        for url in ("/my/offers", "/my/jobs", f"/my/jobs/{self.job.id}", "/my/crowd/profile"):
            page = self.url_open(url)
            self.assertEqual(page.status_code, 200, url)
            self.assertIn('rel="manifest"', page.text, url)
            self.assertIn('id="crowd_live_expert"', page.text, url)
        job_page = self.url_open(f"/my/jobs/{self.job.id}").text
        self.assertIn(f'data-version="{self.job.sudo()._crowd_version()}"', job_page)
        self.assertIn('data-state="assigned"', job_page)
        # the customer's pages are not the expert app
        self.authenticate("live_customer", "live_customer")
        self.assertNotIn('rel="manifest"', self.url_open(f"/my/service/{self.job.id}").text)


@tagged("post_install", "-at_install", "crowd_live")
class TestCrowdLiveTour(CrowdLiveCommon):
    """The tracking page in a browser sees the ETA change with no reload. The test server runs the real bus
    (the websocket, the page's subscription by token); only what test mode switches off is switched back
    on: websockets, and the wake-up that a committed transaction's NOTIFY gives them."""

    def test_tracking_page_updates_itself(self):
        self.startPatcher(patch.object(WebsocketConnectionHandler, "websocket_allowed", return_value=True))
        original_sendone = ImBus._sendone

        def sendone(bus, target, notification_type, message):
            original_sendone(bus, target, notification_type, message)

            def wake_up():
                for websockets in list(dispatch._channels_to_ws.values()):
                    for ws in list(websockets):
                        ws.trigger_notification_dispatching()

            bus.env.cr.precommit.add(wake_up)

        self.startPatcher(patch.object(ImBus, "_sendone", sendone))
        # no tile server in the test: a local image for every tile
        tiles = "/web/static/img/placeholder.png"
        self.env["ir.config_parameter"].sudo().set_param("crowd_service.map_tile_url", tiles)
        self.expert.with_user(self.expert_user).crowd_set_location_consent(True)
        self.job.with_user(self.expert_user).action_en_route(45)
        token = self.job._portal_ensure_token()
        self.env.flush_all()
        self.start_tour(
            f"/my/service/{self.job.id}?access_token={token}", "crowd_live_tracking_tour", login="live_expert"
        )
        self.assertEqual(self.job.tracking_ids.latitude, 46.99)

    def test_offline_action_is_sent_once_back_online(self):
        """The job page on the phone: the service worker keeps it, "I am on my way" made offline is saved on
        the phone and sent exactly once when back online (see crowd_offline_queue_tour)."""
        job = self._assigned_job("Press stuck offline")
        self.assertEqual(job.state, "assigned")
        self.start_tour(f"/my/jobs/{job.id}", "crowd_offline_queue_tour", login="live_expert")
        job.invalidate_recordset()
        self.assertEqual(job.state, "en_route")
        replays = self.env["crowd.job.replay"].search([("job_id", "=", job.id)])
        self.assertEqual(len(replays), 1, "sent exactly once")
        self.assertEqual((replays.action, replays.result, replays.user_id), ("en_route", "applied", self.expert_user))
        self.assertAlmostEqual((job.eta_at - replays.queued_at).total_seconds() / 60, 15, delta=1)

    def test_offline_report_brings_its_photo(self):
        """A report written offline on site with a photo: both reach the job once back online."""
        job = self._assigned_job("Conveyor noisy offline")
        job.with_user(self.expert_user).action_en_route(10)
        job.with_user(self.expert_user).action_check_in(*SITE)
        self.start_tour(f"/my/jobs/{job.id}", "crowd_offline_report_tour", login="live_expert")
        job.invalidate_recordset()
        self.assertIn("Bearing replaced", job.report)
        self.assertEqual(job.report_attachment_ids.mapped("name"), ["bearing.png"])
        photo = job.report_attachment_ids.sudo()
        self.assertEqual((photo.mimetype, photo.res_model, photo.res_id), ("image/png", "crowd.job", job.id))
        self.assertEqual(photo.create_uid, self.expert_user)
        replay = self.env["crowd.job.replay"].search([("job_id", "=", job.id)])
        self.assertEqual((replay.action, replay.result), ("report", "applied"))
