from datetime import date

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import CrowdCase


@tagged("post_install", "-at_install")
class TestCertificate(CrowdCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login="crowd_cert_mgr", groups="crowd_service.group_crowd_manager")
        cls.Cert = cls.env["crowd.expert.certificate"]

    def _cert(self, **vals):
        base = {
            "partner_id": self.expert.id,
            "type_id": self.cert_type_free.id,
            "issue_date": date(2024, 4, 1),
            "expiry_date": date(2026, 3, 31),
        }
        base.update(vals)
        return self.Cert.create(base)

    def test_expiry_before_issue(self):
        count = self.Cert.search_count([])
        with self.assertRaises(ValidationError):
            self._cert(issue_date=date(2026, 1, 10), expiry_date=date(2026, 1, 9))
        self.assertEqual(self.Cert.search_count([]), count)
        cert = self._cert()
        with self.assertRaises(ValidationError):
            cert.write({"expiry_date": date(2024, 3, 31)})
        cert.invalidate_recordset()
        self.assertEqual(cert.expiry_date, date(2026, 3, 31))

    def test_expiry_from_validity(self):
        cert = self.Cert.create(
            {"partner_id": self.expert.id, "type_id": self.cert_type.id, "issue_date": date(2025, 1, 15)}
        )
        self.assertEqual(cert.expiry_date, date(2027, 1, 15))
        self.assertEqual(cert.state, "pending")
        self.assertTrue(cert.is_blocking)

    @freeze_time("2026-03-01")
    def test_verify_needs_document(self):
        cert = self._cert(type_id=self.cert_type.id)
        with self.assertRaises(UserError):
            cert.action_verify()
        self.assertEqual(cert.state, "pending")
        attachment = self.env["ir.attachment"].create({"name": "scan.pdf", "raw": b"%PDF-1.4 test"})
        cert.attachment_ids = [(4, attachment.id)]
        cert.with_user(self.manager).action_verify()
        self.assertEqual(cert.state, "verified")
        self.assertEqual(cert.verified_by_id, self.manager)
        self.assertEqual(cert.verified_on, date(2026, 3, 1))
        self.assertFalse(cert.is_blocking)
        cert.action_revoke()
        self.assertEqual(cert.state, "revoked")
        self.assertTrue(cert.is_blocking)
        self.assertFalse(cert._crowd_valid_on(date(2026, 3, 1)))

    def test_cannot_verify_expired(self):
        with freeze_time("2026-04-05"):
            cert = self._cert()
            with self.assertRaises(UserError):
                cert.action_verify()
            self.assertEqual(cert.state, "pending")

    def test_cron_boundary_day(self):
        with freeze_time("2026-03-01"):
            cert = self._cert()
            cert.action_verify()
        with freeze_time("2026-03-31"):
            self.Cert._cron_expire_certificates()
            self.assertEqual(cert.state, "verified", "still valid on its expiry day")
            self.assertFalse(cert.is_blocking)
            self.assertEqual(cert._crowd_valid_on(date(2026, 3, 31)), cert)
        self.assertFalse(cert._crowd_valid_on(date(2026, 4, 1)))
        with freeze_time("2026-04-01"):
            self.Cert._cron_expire_certificates()
            self.assertEqual(cert.state, "expired", "expired the day after")
            self.assertTrue(cert.is_blocking)

    def test_pending_certificate_expires_too(self):
        cert = self._cert()
        with freeze_time("2026-04-01"):
            self.Cert._cron_expire_certificates()
        self.assertEqual(cert.state, "expired")

    def test_reminder_once(self):
        with freeze_time("2026-02-01"):
            cert = self._cert(user_id=self.manager.id)
            cert.action_verify()
        todo = self.env.ref("mail.mail_activity_data_todo")
        with freeze_time("2026-02-28"):  # 31 days before expiry, reminder_days = 30
            self.Cert._cron_expire_certificates()
            self.assertFalse(cert.activity_ids)
        with freeze_time("2026-03-01"):  # 30 days before expiry
            self.Cert._cron_expire_certificates()
            self.assertEqual(len(cert.activity_ids), 1)
            self.assertEqual(cert.activity_ids.activity_type_id, todo)
            self.assertEqual(cert.activity_ids.user_id, self.manager)
            self.assertEqual(cert.activity_ids.date_deadline, date(2026, 3, 31))
        with freeze_time("2026-03-02"):
            self.Cert._cron_expire_certificates()
            self.Cert._cron_expire_certificates()
            self.assertEqual(len(cert.activity_ids), 1, "the reminder is scheduled once")
        # renewing (new expiry date) re-arms the reminder
        cert.expiry_date = date(2028, 3, 31)
        self.assertFalse(cert.reminder_scheduled)

    def test_reminder_falls_back_to_company_manager(self):
        self.env.company.crowd_manager_id = self.manager
        with freeze_time("2026-03-10"):
            cert = self._cert()
            cert.action_verify()
            self.Cert._cron_expire_certificates()
            self.assertEqual(cert.activity_ids.user_id, self.manager)

    def test_certificate_count_and_action(self):
        self._cert()
        self._cert(type_id=self.cert_type.id)
        self.assertEqual(self.expert.crowd_certificate_count, 2)
        action = self.expert.action_crowd_view_certificates()
        self.assertEqual(action["domain"], [("partner_id", "=", self.expert.id)])
