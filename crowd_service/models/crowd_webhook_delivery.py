"""Webhook outbox: one ``crowd.webhook.delivery`` per event, sent by its own triggered cron.

Modelled on ``mail.mail``: the event is written in the transaction that produced it (so it is
never lost and never sent for a rolled-back transaction), a cron sends the due deliveries in small
batches and commits the outcome of each one right after its HTTP call, failures are retried with a
capped exponential backoff up to a bounded number of attempts, and the state is visible to the
dispatchers, who can retry a failed delivery by hand. Nothing ever sleeps: a delivery that must wait
carries its next attempt time and the cron is triggered for that moment.

Delivery is at least once: a worker killed after the endpoint answered but before its commit leaves
the delivery queued, and it is sent again. Each request carries the delivery id in
``X-Crowd-Delivery`` so that the receiver can drop a duplicate.
"""

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import namedtuple
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg2
import requests

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError

_logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Crowd-Signature"
DELIVERY_HEADER = "X-Crowd-Delivery"
EVENT_HEADER = "X-Crowd-Event"
USER_AGENT = "crowd-service-webhook/2"

# Bounds of the company settings (validated there) and of the sender (clamped again, defensively).
TIMEOUT_DEFAULT = 5.0
TIMEOUT_MIN = 0.1
TIMEOUT_MAX = 30.0
RETRIES_DEFAULT = 3
RETRIES_MAX = 10
BACKOFF_DEFAULT = 30
BACKOFF_MIN = 1
BACKOFF_BASE_MAX = 3600
BACKOFF_CAP_DEFAULT = 3600
BACKOFF_CAP_MAX = 86400

# One cron call sends at most BATCH_SIZE deliveries and starts no new HTTP call after TIME_BUDGET
# seconds; a call that ran out of time gives its worker back to the other crons.
BATCH_SIZE = 10
TIME_BUDGET = 10.0
# Sent deliveries are kept this long (the autovacuum removes older ones); failed ones are kept.
KEEP_SENT_DAYS = 30

# HTTP statuses worth another attempt; any other non-2xx answer fails the delivery at once.
RETRYABLE_STATUSES = frozenset({408, 425, 429})

WebhookResult = namedtuple("WebhookResult", "ok status error retryable retry_after")


def crowd_webhook_signature(secret, body):
    """``sha256=<hex>`` HMAC-SHA256 of the raw body (bytes) with the company's secret."""
    digest = hmac.new((secret or "").encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def crowd_webhook_body(event, company_id, data):
    """The JSON body of an event, as stored on the delivery, signed and sent byte for byte."""
    payload = {"event": event, "company_id": company_id, "data": data}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def crowd_webhook_clamp_timeout(timeout):
    """A usable HTTP timeout whatever is stored: non-numbers, NaN and values <= 0 give the default."""
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        return TIMEOUT_DEFAULT
    if not value > 0:  # also catches NaN
        return TIMEOUT_DEFAULT
    return min(max(value, TIMEOUT_MIN), TIMEOUT_MAX)


def crowd_webhook_backoff(attempts, base, cap, retry_after=None):
    """Seconds before the next attempt after ``attempts`` failed ones: ``base * 2**(attempts-1)``, at
    most ``cap``; a server's ``Retry-After`` is honoured up to the same cap."""
    exponent = min(max(int(attempts) - 1, 0), 30)
    delay = min(cap, base * 2**exponent)
    if retry_after:
        delay = max(delay, min(cap, retry_after))
    return int(delay)


def _retry_after(response):
    value = (response.headers.get("Retry-After") or "").strip()
    return int(value) if value.isdigit() else None


def crowd_webhook_post(url, secret, body, timeout, headers=None):
    """One signed POST of ``body`` (str or bytes) to ``url``. Never raises, never sleeps.

    Returns a ``WebhookResult(ok, status, error, retryable, retry_after)``: ``ok`` only when the
    endpoint answered 2xx; ``retryable`` for timeouts, connection errors, 408/425/429 and 5xx.
    """
    try:
        body = body.encode() if isinstance(body, str) else bytes(body)
        timeout = crowd_webhook_clamp_timeout(timeout)
        all_headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: crowd_webhook_signature(secret, body),
            **(headers or {}),
        }
        # stream: the answer's body is never read; no redirect: a POST is not replayed elsewhere
        with requests.post(
            url, data=body, headers=all_headers, timeout=timeout, allow_redirects=False, stream=True
        ) as response:
            status = response.status_code
            if 200 <= status < 300:
                return WebhookResult(True, status, None, False, None)
            retryable = status >= 500 or status in RETRYABLE_STATUSES
            reason = f"HTTP {status} {response.reason or ''}".strip()
            return WebhookResult(False, status, reason, retryable, _retry_after(response) if retryable else None)
    except requests.Timeout as exc:
        return WebhookResult(False, None, f"Timeout: {exc}", True, None)
    except requests.ConnectionError as exc:
        return WebhookResult(False, None, f"Connection error: {exc}", True, None)
    except (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
    ) as exc:
        return WebhookResult(False, None, f"Invalid URL: {exc}", False, None)
    except Exception as exc:
        return WebhookResult(False, None, f"{type(exc).__name__}: {exc}", True, None)


def crowd_webhook_url_ok(url):
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class CrowdWebhookDelivery(models.Model):
    _name = "crowd.webhook.delivery"
    _description = "Crowd Webhook Delivery"
    _order = "id desc"
    _check_company_auto = True

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    event = fields.Char(required=True, readonly=True)
    payload = fields.Text(readonly=True, help="The JSON body, exactly as signed and sent.")
    url = fields.Char("Endpoint", required=True, readonly=True)
    state = fields.Selection(
        [("queued", "Queued"), ("sent", "Sent"), ("failed", "Failed"), ("cancelled", "Cancelled")],
        required=True,
        default="queued",
        readonly=True,
        help="Queued: waiting for its next attempt. Sent: the endpoint answered 2xx. Failed: no more "
        "automatic attempts (the endpoint refused it, or every attempt failed). Cancelled: by a user.",
    )
    attempts = fields.Integer(default=0, readonly=True, help="HTTP attempts since the delivery was queued or retried.")
    next_attempt_at = fields.Datetime("Next Attempt", readonly=True)
    last_attempt_at = fields.Datetime("Last Attempt", readonly=True)
    last_status = fields.Integer("Last HTTP Status", default=0, readonly=True, help="0 when no answer was received.")
    last_error = fields.Text(readonly=True)
    sent_at = fields.Datetime(readonly=True)

    def init(self):
        # a public name, so callable over RPC: only the registry (as superuser) runs schema hooks
        if not self.env.su:
            raise AccessError(self.env._("Schema hooks run at install and update only."))
        # the sender's query: due queued deliveries, oldest first
        tools.create_index(
            self.env.cr,
            "crowd_webhook_delivery_due_idx",
            self._table,
            ["next_attempt_at", "id"],
            where="state = 'queued'",
        )

    @api.depends("event")
    def _compute_display_name(self):
        for delivery in self:
            delivery.display_name = f"{delivery.event} #{delivery.id or '-'}"

    @api.ondelete(at_uninstall=False)
    def _unlink_except_queued(self):
        if any(delivery.state == "queued" for delivery in self):
            raise UserError(self.env._("Cancel a queued webhook delivery before deleting it."))

    # ------------------------------------------------------------------ dispatcher actions
    def _check_dispatcher(self):
        self.check_access("read")
        if not self.env.user.has_group("crowd_service.group_crowd_user"):
            raise AccessError(self.env._("Only crowd dispatchers can retry or cancel webhook deliveries."))

    def action_retry(self):
        """Queue failed or cancelled deliveries again, at once, with a fresh series of attempts.

        The endpoint is the company's current one (a dispatcher fixes the URL, then retries).
        """
        self._check_dispatcher()
        wrong = self.filtered(lambda d: d.state not in ("failed", "cancelled"))
        if wrong:
            raise UserError(
                self.env._(
                    "Only failed or cancelled webhook deliveries can be retried: %(names)s",
                    names=", ".join(wrong.mapped("display_name")),
                )
            )
        now = self._crowd_now()
        # sudo: deliveries are written by the system only; the dispatcher's right was checked above
        for delivery in self.sudo():
            delivery.write(
                {
                    "state": "queued",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "url": delivery.company_id.crowd_webhook_url or delivery.url,
                }
            )
        self._crowd_trigger_cron(now)
        return True

    def action_cancel(self):
        """Stop sending queued or failed deliveries."""
        self._check_dispatcher()
        wrong = self.filtered(lambda d: d.state not in ("queued", "failed"))
        if wrong:
            raise UserError(
                self.env._(
                    "Only queued or failed webhook deliveries can be cancelled: %(names)s",
                    names=", ".join(wrong.mapped("display_name")),
                )
            )
        # sudo: deliveries are written by the system only; the dispatcher's right was checked above
        self.sudo().write({"state": "cancelled", "next_attempt_at": False})
        return True

    # ------------------------------------------------------------------ system: queue
    @api.model
    def _crowd_now(self):
        return fields.Datetime.now()

    @api.model
    def _crowd_queue(self, company, event, data):
        """Write one delivery of ``event`` for ``company`` (none without a URL) and trigger the sender."""
        company = company.sudo()  # sudo: the webhook settings are read by a system action
        if not company.crowd_webhook_url:
            return self.browse()
        now = self._crowd_now()
        # sudo: no user may create deliveries; the system queues them for any user's action
        delivery = (
            self.sudo()
            .create(
                {
                    "company_id": company.id,
                    "event": event,
                    "payload": crowd_webhook_body(event, company.id, data),
                    "url": company.crowd_webhook_url,
                    "next_attempt_at": now,
                }
            )
            .with_env(self.env)
        )
        self._crowd_trigger_cron(now)
        return delivery

    @api.model
    def _crowd_trigger_cron(self, at=None):
        cron = self.env.ref("crowd_service.ir_cron_crowd_webhook_send", raise_if_not_found=False)
        if cron:
            # sudo: triggering a cron is a system action
            cron.sudo()._trigger(at)

    # ------------------------------------------------------------------ system: send
    @api.model
    def _cron_crowd_webhook_send(self):
        """ir.cron entry point: send one batch of due deliveries, committing after each one."""
        # commit per delivery, except in tests (their transaction is rolled back), as mail.mail does
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        return self._crowd_send_due(auto_commit=auto_commit)

    @api.model
    def _crowd_batch_size(self):
        param = self.env["ir.config_parameter"].sudo().get_param("crowd_service.webhook_batch_size")
        try:
            return min(max(int(param), 1), 1000) if param else BATCH_SIZE
        except ValueError:
            return BATCH_SIZE

    @api.model
    def _crowd_lock_next_due(self, skip_urls):
        """Lock one due delivery (``FOR UPDATE SKIP LOCKED``: a delivery another worker is sending is
        skipped) and return it, or an empty recordset."""
        self.flush_model()
        self.env.cr.execute(
            """
            SELECT id FROM crowd_webhook_delivery
             WHERE state = 'queued' AND next_attempt_at <= %s AND NOT (url = ANY(%s))
             ORDER BY next_attempt_at, id
             LIMIT 1
               FOR UPDATE SKIP LOCKED
            """,
            [self._crowd_now(), list(skip_urls)],
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        delivery = self.browse(row[0] if row else [])
        delivery.invalidate_recordset()  # read what is in the database now, not a cached value
        return delivery

    @api.model
    def _crowd_send_due(self, auto_commit=False, limit=None, time_budget=TIME_BUDGET):
        """Send due deliveries one at a time until ``limit`` are done, none is due or ``time_budget``
        seconds have passed. Each delivery stays locked from its selection to the commit of its
        outcome, so two workers never send the same one. A URL that timed out or refused a
        connection is not tried again in this call (its other deliveries wait for the next call).
        """
        # sudo: a system action (the cron's user, or a test): deliveries are written by the system only
        deliveries = self.sudo()
        limit = limit or deliveries._crowd_batch_size()
        started = time.monotonic()
        done = 0
        skip_urls = set()
        while done < limit and time.monotonic() - started < time_budget:
            try:
                delivery = deliveries._crowd_lock_next_due(skip_urls)
            except psycopg2.errors.SerializationFailure:
                # another worker committed that row after our snapshot: take a new snapshot
                if not auto_commit:
                    raise
                self.env.cr.rollback()
                continue
            if not delivery:
                break
            result = delivery._crowd_send_one()
            done += 1
            if not result.ok and result.status is None and result.retryable:
                skip_urls.add(delivery.url)
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        deliveries._crowd_schedule_next(done, out_of_time=time.monotonic() - started >= time_budget)
        return done

    @api.model
    def _crowd_schedule_next(self, done, out_of_time):
        """Tell the cron what is left: more due now is run again at once (progress API), unless this
        call ran out of time (slow endpoints), then the worker is given back and the cron comes back
        in a minute; deliveries waiting for a retry trigger the cron at their time."""
        now = self._crowd_now()
        self.flush_model()
        self.env.cr.execute(
            "SELECT count(*) FILTER (WHERE next_attempt_at <= %s), min(next_attempt_at) "
            "FROM crowd_webhook_delivery WHERE state = 'queued'",
            [now],
        )
        due, first = self.env.cr.fetchone()
        if due and out_of_time:
            self._crowd_trigger_cron(now + timedelta(minutes=1))
            due = 0
        elif first and first > now:
            self._crowd_trigger_cron(first)
        self.env["ir.cron"]._notify_progress(done=done, remaining=due)

    def _crowd_send_one(self):
        """One attempt for this (locked, queued) delivery; writes its outcome. Never raises on HTTP."""
        self.ensure_one()
        company = self.company_id.sudo()  # sudo: the secret is restricted to system users
        policy = company._crowd_webhook_policy()
        headers = {DELIVERY_HEADER: str(self.id), EVENT_HEADER: self.event or ""}
        result = crowd_webhook_post(
            self.url, company.crowd_webhook_secret or "", self.payload or "", policy["timeout"], headers
        )
        now = self._crowd_now()
        attempts = self.attempts + 1
        vals = {"attempts": attempts, "last_attempt_at": now, "last_status": result.status or 0}
        if result.ok:
            vals.update(state="sent", sent_at=now, next_attempt_at=False, last_error=False)
        elif result.retryable and attempts < policy["max_attempts"]:
            delay = crowd_webhook_backoff(attempts, policy["backoff"], policy["backoff_max"], result.retry_after)
            vals.update(next_attempt_at=now + timedelta(seconds=delay), last_error=result.error)
        else:
            vals.update(state="failed", next_attempt_at=False, last_error=result.error)
            _logger.warning(
                "Crowd webhook delivery %s (%s) to %s failed after %s attempt(s): %s",
                self.id,
                self.event,
                self.url,
                attempts,
                result.error,
            )
        self.write(vals)
        return result

    @api.autovacuum
    def _gc_sent_deliveries(self):
        """Remove sent deliveries older than KEEP_SENT_DAYS (failed and cancelled ones are kept)."""
        limit_date = self._crowd_now() - timedelta(days=KEEP_SENT_DAYS)
        old = self.sudo().search([("state", "=", "sent"), ("sent_at", "<", limit_date)], limit=10000)
        old.unlink()
        return len(old)
