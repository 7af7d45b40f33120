# pylint: disable=consider-merging-classes-inherited
# (dispatch extension kept apart from the expert-pool file on purpose: one feature per file)
import hashlib
import hmac
import json
import logging
import time

import requests

from odoo import fields, models

_logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Crowd-Signature"


def crowd_webhook_signature(secret, body):
    """``sha256=<hex>`` HMAC-SHA256 of the raw body (bytes) with the company's secret."""
    digest = hmac.new((secret or "").encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def crowd_webhook_deliver(url, secret, payload, timeout=5.0, retries=3, backoff=0.5):
    """POST ``payload`` as signed JSON; retry on network errors and 5xx with exponential backoff.

    Never raises: failures are logged at WARNING level. Returns True when delivered (2xx).
    """
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: crowd_webhook_signature(secret, body),
        "User-Agent": "crowd-service-webhook/1",
    }
    attempts = max(1, int(retries) + 1)
    last = None
    for attempt in range(attempts):
        try:
            response = requests.post(url, data=body, headers=headers, timeout=timeout)
            if response.status_code < 400:
                return True
            last = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break  # a client error will not get better by retrying
        except requests.RequestException as exc:
            last = f"{type(exc).__name__}: {exc}"
        if attempt + 1 < attempts:
            time.sleep(backoff * (2**attempt))
    _logger.warning("Crowd webhook to %s failed after %s attempt(s): %s", url, attempt + 1, last)
    return False


class ResCompany(models.Model):
    _inherit = "res.company"

    crowd_webhook_url = fields.Char("Push Webhook URL", help="Receives a signed JSON POST for each new offer.")
    crowd_webhook_secret = fields.Char("Webhook Secret", groups="base.group_system")
    crowd_webhook_timeout = fields.Float("Webhook Timeout (s)", default=5.0)
    crowd_webhook_retries = fields.Integer("Webhook Retries", default=3)

    def _crowd_webhook_queue(self, event, data):
        """Send the webhook after the transaction commits: never blocks nor breaks the dispatch."""
        self.ensure_one()
        # sudo: the secret is restricted to system users, the sender is a system action
        company = self.sudo()
        if not company.crowd_webhook_url:
            return False
        args = (
            company.crowd_webhook_url,
            company.crowd_webhook_secret or "",
            {"event": event, "company_id": company.id, "data": data},
            company.crowd_webhook_timeout or 5.0,
            company.crowd_webhook_retries,
        )
        self.env.cr.postcommit.add(lambda: crowd_webhook_deliver(*args))
        return args
