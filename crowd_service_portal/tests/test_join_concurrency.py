# pylint: disable=invalid-commit
# Concurrency needs committed data seen by separate transactions; every commit here is on a cursor of
# its own, and the data is removed afterwards.
import logging
import threading

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

_logger = logging.getLogger(__name__)
EMAIL = "race.applicant@example.com"  # the other address of a test starts with "other."


@tagged("post_install", "-at_install")
class TestCrowdJoinConcurrency(TransactionCase):
    """Two applications at the same moment, each in its own committed transaction (as two HTTP requests):
    one e-mail address gets one application, and one IP address at its limit gets one more, never two."""

    def setUp(self):
        super().setUp()
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partners = (
                env["res.partner"]
                .with_context(active_test=False)
                .search([("email", "like", "%race.applicant@example.com")])
            )
            env["mail.mail"].search([("recipient_ids", "in", partners.ids)]).unlink()
            partners.message_ids.unlink()
            partners.unlink()
            env["crowd.join.attempt"].search([("ip_address", "like", "192.0.2.%")]).unlink()
            env["ir.config_parameter"].set_param("crowd_service_portal.join_rate_limit", 5)
            cr.commit()

    def _apply_concurrently(self, ips, emails):
        barrier = threading.Barrier(2)
        outcomes = [None, None]

        def apply(index):
            try:
                with self.registry.cursor() as cr:
                    # bind the transaction to the registry directly: looking the registry up by name would wait
                    # for the registry lock the test runner holds in the main thread
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    values = {"name": f"Race {index}", "email": emails[index], "latitude": "46.9", "longitude": "7.4"}
                    barrier.wait(timeout=30)
                    try:
                        env["res.partner"]._crowd_apply(values, ip_address=ips[index])
                        cr.commit()
                        outcomes[index] = "created"
                    except (UserError, SerializationFailure) as exc:
                        # a serialization failure is retried by Odoo's HTTP layer, and then refused
                        cr.rollback()
                        outcomes[index] = type(exc).__name__
            except Exception as exc:  # reported by the assertions
                outcomes[index] = f"crashed: {exc!r}"

        threads = [threading.Thread(target=apply, args=(index,)) for index in (0, 1)]
        # the loser's refused row (unique index, or the locked counter) is logged by odoo.sql_db as a bad query
        with mute_logger("odoo.sql_db"):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            created = env["res.partner"].search_count(
                [("email", "like", "%race.applicant@example.com"), ("crowd_state", "=", "applied")]
            )
        _logger.info("concurrent applications: %s, %s created", outcomes, created)
        return sorted(map(str, outcomes)), created

    def test_same_email_at_once(self):
        outcomes, created = self._apply_concurrently(["192.0.2.1", "192.0.2.2"], [EMAIL, EMAIL.upper()])
        self.assertEqual(created, 1, outcomes)
        self.assertIn("created", outcomes)
        self.assertEqual(outcomes.count("created"), 1, outcomes)

    def test_same_ip_at_its_limit(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ir.config_parameter"].set_param("crowd_service_portal.join_rate_limit", 1)
            cr.commit()
        outcomes, created = self._apply_concurrently(["192.0.2.3", "192.0.2.3"], [EMAIL, f"other.{EMAIL}"])
        self.assertEqual(outcomes.count("created"), 1, outcomes)
        self.assertEqual(created, 1)
