# pylint: disable=invalid-commit
# The worker tests need committed data seen by separate transactions; every commit there is on a
# cursor of its own, and the data is removed afterwards.
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from odoo.addons.crowd_service.models import crowd_webhook_delivery as outbox
from odoo.addons.crowd_service.models.crowd_webhook_delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    crowd_webhook_backoff,
    crowd_webhook_post,
    crowd_webhook_signature,
)

T0 = datetime(2026, 3, 2, 9, 0, 0)


class _Receiver(BaseHTTPRequestHandler):
    """Answers with the next status of ``server.statuses`` (then 200) and keeps what it received.

    ``server.hold`` (an Event) makes it wait for the test's release before answering: a slow endpoint.
    """

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.received.append((dict(self.headers), body))
            status, extra = self.server.statuses.pop(0) if self.server.statuses else (200, {})
        if self.server.hold is not None:
            self.server.hold.wait(10)
        if self.server.meet is not None and len(self.server.received) <= self.server.meet.parties:
            try:
                self.server.meet.wait(10)
            except threading.BrokenBarrierError:
                status = 599
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def start_endpoint(case, statuses=(), hold=False, meet=None, threaded=False):
    """A local HTTP endpoint for ``case``; statuses are ints or (status, headers) pairs."""
    server = (ThreadingHTTPServer if threaded else HTTPServer)(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.received = []
    server.statuses = [s if isinstance(s, tuple) else (s, {}) for s in statuses]
    server.hold = threading.Event() if hold else None
    server.meet = meet
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    case.addCleanup(thread.join, 5)
    case.addCleanup(server.server_close)
    case.addCleanup(server.shutdown)
    if hold:
        case.addCleanup(server.hold.set)  # runs first: a held request ends before the shutdown
    return server, f"http://127.0.0.1:{server.server_port}/hook"


def dead_url():
    """An address where nothing listens (connection refused at once)."""
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    port = server.server_port
    server.server_close()
    return f"http://127.0.0.1:{port}/hook"


def _no_sleep(*args, **kwargs):
    raise AssertionError("time.sleep called: a worker must never sleep")


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookSender(TransactionCase):
    """The single-attempt sender: signed, bounded, never raises, never sleeps."""

    def test_signature_is_hmac_sha256_of_the_body(self):
        server, url = start_endpoint(self)
        body = outbox.crowd_webhook_body("offer.created", 1, {"offer_id": 7, "eta_min": 12.5})
        result = crowd_webhook_post(url, "s3cret", body, 2, {DELIVERY_HEADER: "42"})
        self.assertTrue(result.ok)
        self.assertEqual(result.status, 200)
        headers, received = server.received[0]
        self.assertEqual(
            json.loads(received), {"event": "offer.created", "company_id": 1, "data": json.loads(body)["data"]}
        )
        expected = "sha256=" + hmac.new(b"s3cret", received, hashlib.sha256).hexdigest()
        self.assertEqual(headers[SIGNATURE_HEADER], expected)
        self.assertEqual(headers[DELIVERY_HEADER], "42")
        self.assertEqual(crowd_webhook_signature("s3cret", received), expected)
        self.assertNotEqual(crowd_webhook_signature("other", received), expected)

    def test_statuses_are_classified(self):
        server, url = start_endpoint(self, statuses=[500, 404, (429, {"Retry-After": "120"}), 302])
        r500, r404, r429, r302 = (crowd_webhook_post(url, "k", "{}", 2) for _i in range(4))
        self.assertEqual((r500.ok, r500.retryable, r500.status), (False, True, 500))
        self.assertEqual((r404.ok, r404.retryable, r404.status), (False, False, 404))
        self.assertEqual((r429.retryable, r429.retry_after), (True, 120))
        self.assertEqual((r302.ok, r302.retryable), (False, False), "a redirect is not followed nor a success")
        self.assertEqual(len(server.received), 4, "one request per call, no hidden retry")

    def test_negative_timeout_does_not_raise(self):
        """Regression: a timeout of -1 raised inside the function documented never to raise."""
        server, url = start_endpoint(self)
        for timeout in (-1, 0, float("nan"), None, "x"):
            result = crowd_webhook_post(url, "k", "{}", timeout)
            self.assertTrue(result.ok, f"timeout {timeout!r} is replaced by a usable one")
        self.assertEqual(len(server.received), 5)

    def test_unreachable_and_invalid_urls_do_not_raise(self):
        down = crowd_webhook_post(dead_url(), "k", "{}", 0.5)
        self.assertFalse(down.ok)
        self.assertTrue(down.retryable)
        self.assertIsNone(down.status)
        for url in ("not a url", "ftp://example.com/x", "", None):
            result = crowd_webhook_post(url, "k", "{}", 1)
            self.assertFalse(result.ok)
            self.assertTrue(result.error)

    def test_backoff_is_exponential_and_capped(self):
        """Regression: the backoff had no cap."""
        self.assertEqual(
            [crowd_webhook_backoff(n, 30, 3600) for n in range(1, 10)], [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
        )
        self.assertEqual(crowd_webhook_backoff(1000, 30, 3600), 3600)
        self.assertEqual(crowd_webhook_backoff(1, 30, 3600, retry_after=600), 600, "Retry-After is honoured")
        self.assertEqual(crowd_webhook_backoff(1, 30, 3600, retry_after=10**9), 3600, "... up to the cap")


class WebhookCase(TransactionCase):
    """A company with a webhook, a controllable clock (``self.now``) and users of each role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.sudo().write(
            {
                "crowd_webhook_url": "http://127.0.0.1:9/unused",
                "crowd_webhook_secret": "k",
                "crowd_webhook_timeout": 2.0,
                "crowd_webhook_retries": 3,
                "crowd_webhook_backoff": 30,
                "crowd_webhook_backoff_max": 3600,
            }
        )
        cls.Delivery = cls.env["crowd.webhook.delivery"]
        # only this class' deliveries are due
        cls.Delivery.search([("state", "=", "queued")]).write({"state": "cancelled"})
        cls.dispatcher = new_test_user(cls.env, login="wh_dispatcher", groups="crowd_service.group_crowd_user")
        cls.manager = new_test_user(cls.env, login="wh_manager", groups="crowd_service.group_crowd_manager")
        cls.employee = new_test_user(cls.env, login="wh_employee", groups="base.group_user")
        cls.portal = new_test_user(cls.env, login="wh_portal", groups="base.group_portal")

    def setUp(self):
        super().setUp()
        self.now = T0
        case = self
        self.patch(type(self.Delivery), "_crowd_now", lambda self: case.now)
        self.patch(time, "sleep", _no_sleep)

    def queue(self, url, data=None, event="offer.created"):
        self.company.crowd_webhook_url = url
        return self.company._crowd_webhook_queue(event, data or {"offer_id": 1})

    def send(self):
        return self.Delivery._cron_crowd_webhook_send()

    def cron_triggers(self):
        cron = self.env.ref("crowd_service.ir_cron_crowd_webhook_send")
        return self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookOutbox(WebhookCase):
    def test_queue_writes_a_delivery_and_triggers_the_cron_without_calling_the_endpoint(self):
        server, url = start_endpoint(self)
        triggers = self.cron_triggers()
        delivery = self.queue(url, {"offer_id": 7})
        self.assertEqual(len(delivery), 1)
        self.assertRecordValues(
            delivery,
            [{"state": "queued", "event": "offer.created", "url": url, "attempts": 0, "company_id": self.company.id}],
        )
        self.assertEqual(
            json.loads(delivery.payload),
            {"event": "offer.created", "company_id": self.company.id, "data": {"offer_id": 7}},
        )
        self.assertEqual(delivery.next_attempt_at, T0)
        self.assertFalse(server.received, "queueing never calls the endpoint")
        self.assertGreater(len(self.cron_triggers() - triggers), 0, "the sender cron is triggered")

    def test_no_delivery_without_url(self):
        self.company.crowd_webhook_url = False
        self.assertFalse(self.company._crowd_webhook_queue("offer.created", {}))

    def test_sent_on_2xx_signed_with_the_delivery_id(self):
        server, url = start_endpoint(self, statuses=[204])
        delivery = self.queue(url)
        self.assertEqual(self.send(), 1)
        self.assertRecordValues(delivery, [{"state": "sent", "attempts": 1, "last_status": 204, "last_error": False}])
        self.assertEqual(delivery.sent_at, T0)
        headers, body = server.received[0]
        self.assertEqual(body.decode(), delivery.payload)
        self.assertEqual(headers[SIGNATURE_HEADER], crowd_webhook_signature("k", body))
        self.assertEqual(headers[DELIVERY_HEADER], str(delivery.id))
        self.assertEqual(self.send(), 0, "a sent delivery is never sent again")
        self.assertEqual(len(server.received), 1)

    def test_the_cron_sends_and_reports_its_progress(self):
        server, url = start_endpoint(self)
        delivery = self.queue(url)
        cron = self.env.ref("crowd_service.ir_cron_crowd_webhook_send")
        cron.method_direct_trigger()
        self.assertEqual(delivery.state, "sent")
        self.assertEqual(len(server.received), 1)
        progress = self.env["ir.cron.progress"].search([("cron_id", "=", cron.id)], order="id desc", limit=1)
        self.assertEqual((progress.done, progress.remaining), (1, 0))

    def test_5xx_is_retried_after_the_backoff(self):
        server, url = start_endpoint(self, statuses=[500, 503])
        delivery = self.queue(url)
        self.send()
        self.assertRecordValues(delivery, [{"state": "queued", "attempts": 1, "last_status": 500}])
        self.assertIn("HTTP 500", delivery.last_error)
        self.assertEqual(delivery.next_attempt_at, T0 + timedelta(seconds=30))
        self.assertIn(
            T0 + timedelta(seconds=30), self.cron_triggers().mapped("call_at"), "cron triggered for the retry"
        )
        self.assertEqual(self.send(), 0, "not due yet: nothing is sent, nobody waits")
        self.now = T0 + timedelta(seconds=30)
        self.send()
        self.assertRecordValues(delivery, [{"state": "queued", "attempts": 2, "last_status": 503}])
        self.assertEqual(delivery.next_attempt_at, self.now + timedelta(seconds=60), "the delay doubles")
        self.now += timedelta(seconds=60)
        self.send()
        self.assertRecordValues(delivery, [{"state": "sent", "attempts": 3, "last_status": 200}])
        self.assertEqual(len(server.received), 3)
        self.assertEqual(len({body for _h, body in server.received}), 1, "the same body is resent")

    def test_timeout_is_retried(self):
        self.company.crowd_webhook_timeout = 0.2
        _server, url = start_endpoint(self, hold=True)
        delivery = self.queue(url)
        self.send()
        self.assertRecordValues(delivery, [{"state": "queued", "attempts": 1, "last_status": 0}])
        self.assertIn("Timeout", delivery.last_error)
        self.assertEqual(delivery.next_attempt_at, T0 + timedelta(seconds=30))

    def test_backoff_is_capped(self):
        self.company.write(
            {"crowd_webhook_retries": 10, "crowd_webhook_backoff": 100, "crowd_webhook_backoff_max": 300}
        )
        _server, url = start_endpoint(self, statuses=[500] * 5)
        delivery = self.queue(url)
        delays = []
        for _i in range(5):
            self.send()
            delays.append((delivery.next_attempt_at - self.now).total_seconds())
            self.now = delivery.next_attempt_at
        self.assertEqual(delays, [100, 200, 300, 300, 300])

    def test_failed_after_the_last_attempt(self):
        self.company.crowd_webhook_retries = 2
        server, url = start_endpoint(self, statuses=[500, 500, 500, 500])
        delivery = self.queue(url)
        with self.assertLogs("odoo.addons.crowd_service.models.crowd_webhook_delivery", "WARNING") as logs:
            for _i in range(3):
                self.send()
                self.now += timedelta(hours=1)
        self.assertRecordValues(
            delivery, [{"state": "failed", "attempts": 3, "last_status": 500, "next_attempt_at": False}]
        )
        self.assertIn("failed after 3 attempt(s)", logs.output[-1])
        self.assertEqual(self.send(), 0)
        self.assertEqual(len(server.received), 3, "1 attempt + 2 retries, then no more")

    def test_client_error_fails_at_once(self):
        _server, url = start_endpoint(self, statuses=[410])
        delivery = self.queue(url)
        with self.assertLogs("odoo.addons.crowd_service.models.crowd_webhook_delivery", "WARNING"):
            self.send()
        self.assertRecordValues(delivery, [{"state": "failed", "attempts": 1, "last_status": 410}])

    def test_no_sleep_anywhere(self):
        """Regression: delivery slept inside the cron worker between retries."""
        _server, url = start_endpoint(self, statuses=[500] * 6)
        deliveries = self.queue(url) | self.queue(url) | self.queue(url)
        self.assertEqual(self.send(), 3)  # time.sleep is patched to fail the test
        self.assertEqual(deliveries.mapped("attempts"), [1, 1, 1], "one attempt each, the retry is scheduled")
        self.assertEqual(set(deliveries.mapped("state")), {"queued"})

    def test_unreachable_endpoint_is_tried_once_per_run(self):
        """A dead endpoint costs one connection attempt per run; its other deliveries wait, untouched."""
        url = dead_url()
        _server, good_url = start_endpoint(self)
        dead = self.queue(url) | self.queue(url) | self.queue(url)
        good = self.queue(good_url)
        self.assertEqual(self.send(), 2)
        self.assertEqual(sorted(dead.mapped("attempts")), [0, 0, 1])
        self.assertEqual(good.state, "sent", "another endpoint is not held up by a dead one")

    def test_batches_are_small_and_the_rest_is_reported(self):
        _server, url = start_endpoint(self)
        for _i in range(4):
            self.queue(url)
        self.env["ir.config_parameter"].sudo().set_param("crowd_service.webhook_batch_size", "3")
        reported = []
        self.patch(type(self.env["ir.cron"]), "_notify_progress", lambda cron, **kw: reported.append(kw))
        self.assertEqual(self.send(), 3)
        self.assertEqual(reported[-1], {"done": 3, "remaining": 1})
        self.assertEqual(self.send(), 1)
        self.assertEqual(reported[-1], {"done": 1, "remaining": 0})

    def test_out_of_time_gives_the_worker_back(self):
        """A call that used its time budget reports nothing remaining (the worker goes to other crons)
        and comes back through a trigger a minute later."""
        _server, url = start_endpoint(self)
        self.queue(url)
        self.queue(url)
        reported = []
        self.patch(type(self.env["ir.cron"]), "_notify_progress", lambda cron, **kw: reported.append(kw))
        triggers = self.cron_triggers()
        self.assertEqual(self.Delivery._crowd_send_due(time_budget=0), 0)
        self.assertEqual(reported[-1], {"done": 0, "remaining": 0})
        self.assertIn(T0 + timedelta(minutes=1), (self.cron_triggers() - triggers).mapped("call_at"))

    def test_retry_by_hand(self):
        self.company.crowd_webhook_retries = 0
        _server, url = start_endpoint(self, statuses=[500])
        delivery = self.queue(url)
        with self.assertLogs("odoo.addons.crowd_service.models.crowd_webhook_delivery", "WARNING"):
            self.send()
        self.assertEqual(delivery.state, "failed")
        # the dispatcher fixes the URL, then retries: the new URL is used
        server2, url2 = start_endpoint(self)
        self.company.crowd_webhook_url = url2
        delivery.with_user(self.dispatcher).action_retry()
        self.assertRecordValues(delivery, [{"state": "queued", "attempts": 0, "url": url2, "next_attempt_at": T0}])
        self.send()
        self.assertEqual(delivery.state, "sent")
        self.assertEqual(len(server2.received), 1)

    def test_retry_and_cancel_check_state_and_change_nothing_on_refusal(self):
        _server, url = start_endpoint(self)
        delivery = self.queue(url)
        self.send()
        before = delivery.read(["state", "attempts", "sent_at", "next_attempt_at"])
        with self.assertRaises(UserError):
            delivery.with_user(self.dispatcher).action_retry()
        with self.assertRaises(UserError):
            delivery.with_user(self.dispatcher).action_cancel()
        delivery.invalidate_recordset()
        self.assertEqual(delivery.read(["state", "attempts", "sent_at", "next_attempt_at"]), before)

    def test_cancel_stops_a_queued_delivery(self):
        server, url = start_endpoint(self)
        delivery = self.queue(url)
        delivery.with_user(self.dispatcher).action_cancel()
        self.assertEqual(delivery.state, "cancelled")
        self.assertEqual(self.send(), 0)
        self.assertFalse(server.received)

    def test_access(self):
        """Dispatchers read, retry and cancel; managers may also delete finished ones; nobody writes
        or creates deliveries; internal users outside crowd and portal users see nothing."""
        self.company.crowd_webhook_retries = 0
        _server, url = start_endpoint(self, statuses=[500])
        delivery = self.queue(url)
        with self.assertLogs("odoo.addons.crowd_service.models.crowd_webhook_delivery", "WARNING"):
            self.send()
        for user in (self.dispatcher, self.manager):
            self.assertEqual(self.Delivery.with_user(user).search([("id", "=", delivery.id)]), delivery)
            with self.assertRaises(AccessError):
                delivery.with_user(user).write({"state": "sent"})
            with self.assertRaises(AccessError):
                self.Delivery.with_user(user).create({"company_id": self.company.id, "event": "x", "url": url})
        for user in (self.employee, self.portal):
            with self.assertRaises(AccessError):
                delivery.with_user(user).read(["state"])
            with self.assertRaises(AccessError):
                delivery.with_user(user).action_retry()
            with self.assertRaises(AccessError):
                delivery.with_user(user).action_cancel()
        self.assertEqual(delivery.state, "failed", "nothing changed")
        with self.assertRaises(AccessError):
            delivery.with_user(self.dispatcher).unlink()
        queued = self.queue(url)
        with self.assertRaises(UserError):
            queued.with_user(self.manager).unlink()
        delivery.with_user(self.manager).unlink()
        self.assertFalse(delivery.exists())

    def test_other_company_deliveries_are_hidden(self):
        other = self.env["res.company"].create({"name": "Other Crowd Co"})
        self.dispatcher.write({"company_ids": [(4, other.id)]})
        _server, url = start_endpoint(self)
        theirs = self.Delivery.sudo().create(
            {"company_id": other.id, "event": "offer.created", "url": url, "next_attempt_at": T0}
        )
        self.assertEqual(self.Delivery.with_user(self.dispatcher).search([("id", "=", theirs.id)]), theirs)
        visible = self.Delivery.with_user(self.dispatcher).with_context(allowed_company_ids=[self.company.id])
        self.assertFalse(visible.search([("id", "=", theirs.id)]))

    def test_old_sent_deliveries_are_vacuumed(self):
        _server, url = start_endpoint(self)
        old, recent = self.queue(url), self.queue(url)
        self.send()
        old.sudo().write({"sent_at": T0 - timedelta(days=31)})
        self.Delivery._gc_sent_deliveries()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookSettings(WebhookCase):
    FIELDS = [
        "crowd_webhook_url",
        "crowd_webhook_timeout",
        "crowd_webhook_retries",
        "crowd_webhook_backoff",
        "crowd_webhook_backoff_max",
    ]

    def test_bad_settings_are_refused_and_change_nothing(self):
        before = self.company.read(self.FIELDS)
        bad = [
            {"crowd_webhook_timeout": -1},
            {"crowd_webhook_timeout": 0},
            {"crowd_webhook_timeout": 31},
            {"crowd_webhook_retries": -1},
            {"crowd_webhook_retries": 11},
            {"crowd_webhook_backoff": 0},
            {"crowd_webhook_backoff": 3601},
            {"crowd_webhook_backoff": 60, "crowd_webhook_backoff_max": 59},
            {"crowd_webhook_backoff_max": 86401},
            {"crowd_webhook_url": "ftp://push.example.com/crowd"},
            {"crowd_webhook_url": "push.example.com"},
        ]
        for vals in bad:
            with self.subTest(vals=vals):
                with self.assertRaises(ValidationError):
                    settings = self.env["res.config.settings"].create(
                        dict(vals, crowd_webhook_url=vals.get("crowd_webhook_url", "https://push.example.com/crowd"))
                    )
                    settings.execute()
                with self.assertRaises(ValidationError):
                    self.company.write(vals)
                self.company.invalidate_recordset()
                self.assertEqual(self.company.read(self.FIELDS), before)

    def test_good_settings_are_saved(self):
        settings = self.env["res.config.settings"].create(
            {
                "crowd_webhook_url": "https://push.example.com/crowd",
                "crowd_webhook_timeout": 30,
                "crowd_webhook_retries": 10,
                "crowd_webhook_backoff": 10,
                "crowd_webhook_backoff_max": 600,
            }
        )
        settings.execute()
        self.assertRecordValues(
            self.company,
            [
                {
                    "crowd_webhook_timeout": 30,
                    "crowd_webhook_retries": 10,
                    "crowd_webhook_backoff": 10,
                    "crowd_webhook_backoff_max": 600,
                }
            ],
        )

    def test_sender_clamps_what_the_database_holds(self):
        """Defensive at send: values written past the validation (SQL) are clamped, never raised on."""
        self.env.cr.execute(
            "UPDATE res_company SET crowd_webhook_timeout = -1, crowd_webhook_retries = 99, "
            "crowd_webhook_backoff = -5, crowd_webhook_backoff_max = 0 WHERE id = %s",
            [self.company.id],
        )
        self.company.invalidate_recordset()
        self.assertEqual(
            self.company._crowd_webhook_policy(),
            {"timeout": outbox.TIMEOUT_DEFAULT, "max_attempts": 11, "backoff": 1, "backoff_max": 3600},
        )
        _server, url = start_endpoint(self)
        self.env.cr.execute("UPDATE res_company SET crowd_webhook_url = %s WHERE id = %s", [url, self.company.id])
        self.company.invalidate_recordset()
        delivery = self.company._crowd_webhook_queue("offer.created", {})
        self.send()
        self.assertEqual(delivery.state, "sent")


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookOnOffers(WebhookCase):
    """The call site: new offers queue deliveries; dispatch and notification never call the endpoint."""

    def _offers(self, count=2):
        self.env["crowd.dispatch.rule"].search([]).active = False  # no automatic dispatch here
        request = self.env["maintenance.request"].create({"name": "Lift stuck (webhook)"})
        job = request.crowd_job_ids[:1] or self.env["crowd.job"]._crowd_create_for(request)
        experts = self.env["res.partner"].create([{"name": f"Webhook Expert {i}"} for i in range(count)])
        return self.env["crowd.dispatch.offer"].create(
            [
                {
                    "job_id": job.id,
                    "expert_id": expert.id,
                    "rank": rank,
                    "state": "pending",
                    "expires_at": T0 + timedelta(hours=1),
                }
                for rank, expert in enumerate(experts, start=1)
            ]
        )

    def test_offers_queue_deliveries_and_dispatch_never_calls_the_endpoint(self):
        """Regression: dispatch rounds came up to 111 s late behind webhook calls. Dispatch and the
        notification cron only write deliveries; the HTTP calls are the webhook cron's, a cron of its own
        that runs after the dispatch crons."""
        server, url = start_endpoint(self, hold=True)
        self.company.crowd_webhook_url = url
        calls = []
        self.patch(outbox, "crowd_webhook_post", lambda *args, **kw: calls.append(args))
        offers = self._offers()
        offers._crowd_notify()
        self.env["crowd.dispatch.offer"]._cron_crowd_offer_notify()
        self.env["crowd.job"]._cron_crowd_dispatch()
        self.assertFalse(calls, "no HTTP call in dispatch nor in the notification cron")
        self.assertFalse(server.received)
        queued = self.Delivery.search([("state", "=", "queued")])
        # other offers waiting for their message (demo data of other addons) queue deliveries too
        deliveries = queued.filtered(lambda d: json.loads(d.payload)["data"].get("offer_id") in offers.ids)
        self.assertEqual(len(deliveries), len(offers))
        self.assertEqual(set(deliveries.mapped("event")), {"offer.created"})
        self.assertEqual(sorted(json.loads(d.payload)["data"]["offer_id"] for d in deliveries), sorted(offers.ids))
        sender = self.env.ref("crowd_service.ir_cron_crowd_webhook_send")
        for xmlid in ("crowd_service.ir_cron_crowd_dispatch", "crowd_service.ir_cron_crowd_offer_notify"):
            cron = self.env.ref(xmlid)
            self.assertNotEqual(cron, sender)
            self.assertLess(cron.priority, sender.priority, f"{xmlid} runs before the webhook cron")
            self.assertNotIn("webhook", cron.code)

    def test_rolled_back_transaction_queues_nothing(self):
        """The delivery is written in the caller's transaction: no event for a rolled-back one."""
        count = self.Delivery.search_count([])
        with self.assertRaises(WorkerKilled), self.env.cr.savepoint():
            self.company._crowd_webhook_queue("offer.created", {"offer_id": 1})
            raise WorkerKilled()
        self.assertEqual(self.Delivery.search_count([]), count)


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookRpc(HttpCase):
    """Over JSON-RPC: private methods are refused; dispatchers retry; other users cannot."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dispatcher = new_test_user(
            cls.env, login="wh_rpc_dispatcher", password="wh_rpc_dispatcher_pw", groups="crowd_service.group_crowd_user"
        )
        cls.employee = new_test_user(
            cls.env, login="wh_rpc_employee", password="wh_rpc_employee_pw", groups="base.group_user"
        )
        cls.delivery = (
            cls.env["crowd.webhook.delivery"]
            .sudo()
            .create(
                {
                    "company_id": cls.env.company.id,
                    "event": "offer.created",
                    "url": "https://push.example.com/crowd",
                    "state": "failed",
                }
            )
        )

    def call(self, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": "crowd.webhook.delivery", "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def test_private_methods_are_refused(self):
        self.authenticate("wh_rpc_dispatcher", "wh_rpc_dispatcher_pw")
        for method, args in [
            ("_cron_crowd_webhook_send", []),
            ("_crowd_send_due", []),
            ("_crowd_send_one", [[self.delivery.id]]),
            ("_crowd_queue", [self.env.company.id, "offer.created", {}]),
            ("_gc_sent_deliveries", []),
        ]:
            with self.subTest(method=method), self.assertRaises(JsonRpcException) as caught:
                self.call(method, args)
            self.assertIn("AccessError", str(caught.exception.args))
        self.assertEqual(self.delivery.state, "failed")
        self.assertEqual(self.delivery.attempts, 0)

    def test_retry_over_rpc(self):
        self.authenticate("wh_rpc_employee", "wh_rpc_employee_pw")
        with self.assertRaises(JsonRpcException):
            self.call("action_retry", [[self.delivery.id]])
        with self.assertRaises(JsonRpcException):
            self.call("write", [[self.delivery.id], {"state": "queued"}], {"context": {"crowd_payout_system": True}})
        self.assertEqual(self.delivery.state, "failed")
        self.authenticate("wh_rpc_dispatcher", "wh_rpc_dispatcher_pw")
        with self.assertRaises(JsonRpcException):
            self.call("write", [[self.delivery.id], {"state": "sent"}])
        self.assertEqual(self.delivery.state, "failed")
        self.call("action_retry", [[self.delivery.id]])
        self.delivery.invalidate_recordset()
        self.assertEqual(self.delivery.state, "queued")


class WorkerKilled(Exception):
    pass


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookWorkers(TransactionCase):
    """Two cron workers on committed deliveries, each with its own cursor and commits."""

    def setUp(self):
        super().setUp()
        self.delivery_ids = []
        self.addCleanup(self._cleanup)
        self.patch(time, "sleep", _no_sleep)

    def _commit_deliveries(self, url, count):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            due = datetime.now() - timedelta(minutes=1)
            deliveries = env["crowd.webhook.delivery"].create(
                [
                    {
                        "company_id": env.ref("base.main_company").id,
                        "event": "offer.created",
                        "payload": json.dumps({"n": i}),
                        "url": url,
                        "next_attempt_at": due,
                    }
                    for i in range(count)
                ]
            )
            cr.commit()
        self.delivery_ids += deliveries.ids
        return deliveries.ids

    def _states(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT id, state, attempts FROM crowd_webhook_delivery WHERE id = ANY(%s) ORDER BY id",
                [self.delivery_ids],
            )
            return {row[0]: (row[1], row[2]) for row in cr.fetchall()}

    def _cleanup(self):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM crowd_webhook_delivery WHERE id = ANY(%s)", [self.delivery_ids])
            cr.commit()

    def _run_worker(self):
        with self.registry.cursor() as cr:
            # bind the transaction to the registry directly: looking the registry up by name would wait
            # for the registry lock the test runner holds in the main thread
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, {})
            return env["crowd.webhook.delivery"]._crowd_send_due(auto_commit=True, limit=100)

    def test_two_workers_never_send_the_same_delivery(self):
        # the first two requests wait for each other: both workers are sending at the same moment,
        # which they can only do if the second one skipped the delivery locked by the first
        meet = threading.Barrier(2)
        server, url = start_endpoint(self, meet=meet, threaded=True)
        ids = self._commit_deliveries(url, 6)
        start = threading.Barrier(2)
        done, errors = {}, []

        def worker(name):
            try:
                start.wait(10)
                done[name] = self._run_worker()
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertFalse(errors)
        self.assertFalse(meet.broken, "both workers were sending at the same time")
        received = sorted(int(headers[DELIVERY_HEADER]) for headers, _body in server.received)
        self.assertEqual(received, sorted(ids), "each delivery sent exactly once")
        self.assertEqual(done["a"] + done["b"], 6)
        self.assertGreater(min(done.values()), 0, "both workers took part")
        self.assertEqual(set(self._states().values()), {("sent", 1)})

    def test_killed_worker_loses_nothing(self):
        """Regression: 45 notifications were lost for good when the worker was killed: they were
        marked sent before being sent. Now a worker dying before its commit leaves the delivery queued,
        and the next worker sends it again (the receiver can drop the duplicate by its id)."""
        server, url = start_endpoint(self)
        (delivery_id,) = self._commit_deliveries(url, 1)
        real_post = outbox.crowd_webhook_post

        def post_then_die(*args, **kwargs):
            real_post(*args, **kwargs)
            raise WorkerKilled()

        with patch.object(outbox, "crowd_webhook_post", post_then_die), self.assertRaises(WorkerKilled):
            self._run_worker()
        self.assertEqual(self._states(), {delivery_id: ("queued", 0)}, "not lost, not marked sent")
        self.assertEqual(self._run_worker(), 1)
        self.assertEqual(self._states(), {delivery_id: ("sent", 1)})
        self.assertEqual([h[DELIVERY_HEADER] for h, _b in server.received], [str(delivery_id)] * 2)
