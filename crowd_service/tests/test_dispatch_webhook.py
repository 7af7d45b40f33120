import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from odoo.tests import TransactionCase, tagged

from odoo.addons.crowd_service.models.res_company_webhook import (
    SIGNATURE_HEADER,
    crowd_webhook_deliver,
    crowd_webhook_signature,
)

from .common_dispatch import CrowdDispatchCase


class _Receiver(BaseHTTPRequestHandler):
    """Answers with the next status of ``server.statuses`` (then 200) and keeps what it received."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookDelivery(TransactionCase):
    def _server(self, statuses=()):
        server = HTTPServer(("127.0.0.1", 0), _Receiver)
        server.received = []
        server.statuses = list(statuses)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server, f"http://127.0.0.1:{server.server_port}/hook"

    def test_signature_is_hmac_sha256_of_the_body(self):
        server, url = self._server()
        payload = {"event": "offer.created", "data": {"offer_id": 7, "eta_min": 12.5}}
        self.assertTrue(crowd_webhook_deliver(url, "s3cret", payload, timeout=2, retries=0))
        headers, body = server.received[0]
        self.assertEqual(json.loads(body), payload)
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        self.assertEqual(headers[SIGNATURE_HEADER], expected)
        self.assertEqual(crowd_webhook_signature("s3cret", body), expected)
        self.assertNotEqual(crowd_webhook_signature("other", body), expected)

    def test_retry_on_500_then_success(self):
        server, url = self._server(statuses=[500, 503])
        self.assertTrue(crowd_webhook_deliver(url, "k", {"n": 1}, timeout=2, retries=3, backoff=0.01))
        self.assertEqual(len(server.received), 3)
        self.assertEqual(len({body for _h, body in server.received}), 1, "the same body is resent")

    def test_gives_up_after_retries_with_a_warning(self):
        server, url = self._server(statuses=[500, 500, 500])
        with self.assertLogs("odoo.addons.crowd_service.models.res_company_webhook", "WARNING") as logs:
            self.assertFalse(crowd_webhook_deliver(url, "k", {"n": 1}, timeout=2, retries=2, backoff=0.01))
        self.assertEqual(len(server.received), 3)
        self.assertIn("HTTP 500", logs.output[0])
        self.assertTrue(all(line.startswith("WARNING") for line in logs.output))

    def test_server_down_does_not_raise(self):
        server, url = self._server()
        server.shutdown()
        server.server_close()
        with self.assertLogs("odoo.addons.crowd_service.models.res_company_webhook", "WARNING") as logs:
            self.assertFalse(crowd_webhook_deliver(url, "k", {"n": 1}, timeout=0.5, retries=1, backoff=0.01))
        self.assertIn("failed after 2 attempt(s)", logs.output[0])


@tagged("post_install", "-at_install", "crowd_dispatch")
class TestWebhookOnOffers(CrowdDispatchCase):
    def test_offers_queue_a_signed_webhook_after_commit(self):
        self.make_expert("Near Nina", km=1.0)
        self.company.write(
            {"crowd_webhook_url": "http://127.0.0.1:9/none", "crowd_webhook_secret": "k", "crowd_webhook_retries": 0}
        )
        queued = []
        original_add = type(self.env.cr.postcommit).add

        def add(callbacks, func):
            if "_crowd_webhook_queue" in getattr(func, "__qualname__", ""):
                queued.append(func)
            else:
                original_add(callbacks, func)

        self.patch(type(self.env.cr.postcommit), "add", add)
        job = self.make_job()
        # the dispatch itself never waits for the endpoint: the push goes out with the notification cron
        self.assertEqual(job.state, "offered")
        self.assertFalse(queued)
        self.env["crowd.dispatch.offer"]._cron_crowd_offer_notify()
        self.assertEqual(len(queued), len(job.offer_ids))
        # queued for after the cron's commit; delivering to a dead endpoint only logs a warning
        with self.assertLogs("odoo.addons.crowd_service.models.res_company_webhook", "WARNING"):
            self.assertFalse(queued[0]())

    def test_no_webhook_without_url(self):
        self.make_expert("Near Nina", km=1.0)
        self.company.crowd_webhook_url = False
        self.assertFalse(self.company._crowd_webhook_queue("offer.created", {}))
