"""The portal's model methods refuse the same things over RPC as through the pages."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

SITE = (46.9480, 7.4474)


@tagged("post_install", "-at_install")
class TestCrowdPortalModels(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.customer_a = env["res.partner"].create({"name": "Customer A (portal model test)", "is_company": True})
        cls.customer_b = env["res.partner"].create({"name": "Customer B (portal model test)", "is_company": True})
        cls.equipment_a = env["maintenance.equipment"].create(
            {"name": "Pump A", "crowd_customer_id": cls.customer_a.id,
             "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
        )  # fmt: skip
        cls.equipment_b = env["maintenance.equipment"].create(
            {"name": "Pump B", "crowd_customer_id": cls.customer_b.id,
             "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
        )  # fmt: skip
        cls.customer = new_test_user(env, login="pm_customer", groups="base.group_portal")
        cls.customer.partner_id.parent_id = cls.customer_a
        cls.expert = new_test_user(env, login="pm_expert", groups="base.group_portal")
        cls.expert.partner_id.write({"is_crowd_expert": True, "crowd_state": "active"})
        cls.other_expert = new_test_user(env, login="pm_expert2", groups="base.group_portal")
        cls.other_expert.partner_id.write({"is_crowd_expert": True, "crowd_state": "active"})
        cls.internal = new_test_user(env, login="pm_internal", groups="base.group_user")
        cls.ctype = env["crowd.certificate.type"].create({"name": "Gas (portal model test)", "code": "PM_GAS"})

    def test_request_service_only_for_the_callers_company_assets(self):
        Request = self.env["maintenance.request"]
        before = Request.search_count([])
        as_customer = Request.with_user(self.customer)
        for equipment_id in (self.equipment_b.id, 0, -1, 2**40, "1", None, True):
            with self.assertRaises(ValidationError):
                as_customer.crowd_request_service(equipment_id, "Leak")
        for name, kwargs in (("", {}), (None, {}), (["Leak"], {}), ("Leak", {"priority": "4"}),
                             ("Leak", {"priority": 3}), ("Leak", {"description": 42})):  # fmt: skip
            with self.assertRaises(ValidationError):
                as_customer.crowd_request_service(self.equipment_a.id, name, **kwargs)
        # an internal user outside the customer's company cannot file for it either
        with self.assertRaises(ValidationError):
            Request.with_user(self.internal).crowd_request_service(self.equipment_a.id, "Leak")
        self.assertEqual(Request.search_count([]), before, "refused requests write nothing")
        created = as_customer.crowd_request_service(self.equipment_a.id, " Leak ", "Under the pump", "3")
        created = created.sudo()
        self.assertEqual((created.name, created.priority, created.equipment_id), ("Leak", "3", self.equipment_a))
        self.assertTrue(created.crowd_job_id, "its first visit is created")

    def test_availability_only_for_the_expert_themselves(self):
        partner = self.expert.partner_id
        other = self.other_expert.partner_id
        with self.assertRaises(AccessError):
            other.with_user(self.expert).crowd_portal_set_online(True)
        with self.assertRaises(AccessError):
            self.customer.partner_id.with_user(self.customer).crowd_portal_set_online(True)
        for lat, lon in (("91", "7"), ("nan", "7"), ("46", None), ("1e400", "7")):
            with self.assertRaises(ValidationError):
                partner.with_user(self.expert).crowd_portal_set_online(True, lat, lon)
        with self.assertRaises(ValidationError):
            partner.with_user(self.expert).crowd_portal_set_online("yes")
        self.assertFalse(partner.crowd_online or other.crowd_online, "refusals change nothing")
        partner.with_user(self.expert).crowd_portal_set_online(True, "46.95", "7.44")
        self.assertTrue(partner.crowd_online)
        self.assertAlmostEqual(partner.partner_latitude, 46.95)

    def test_standby_premium_earned_online_on_the_portal_not_written_by_the_expert(self):
        """An expert called on standby who goes online on the portal within the hour earns the premium; the
        standby fields are the system's: the expert cannot write them, not even on their own profile."""
        partner = self.expert.partner_id
        called_at = fields.Datetime.now() - timedelta(minutes=10)
        partner.write({"crowd_standby_called_at": called_at, "crowd_standby_premium_hours": 1.0})  # the call
        for vals in (
            {"crowd_standby_earned_at": fields.Datetime.now()},
            {"crowd_standby_premium_hours": 5.0},
            {"crowd_standby_called_at": False},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                partner.with_user(self.expert).write(vals)
        self.assertFalse(partner.crowd_standby_earned_at)
        partner.with_user(self.expert).crowd_portal_set_online(True)
        self.assertTrue(partner.crowd_standby_earned_at)
        self.assertGreaterEqual(partner.crowd_standby_earned_at, called_at)
        self.assertEqual(partner.crowd_standby_premium_hours, 1.0)

    def test_certificate_only_with_own_new_uploads(self):
        Attachment = self.env["ir.attachment"]
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        mine = Attachment.with_user(self.expert).sudo().create({"name": "c.png", "raw": png})
        theirs = Attachment.with_user(self.other_expert).sudo().create({"name": "o.png", "raw": png})
        text = (
            Attachment.with_user(self.expert).sudo().create({"name": "t.png", "raw": b"text", "mimetype": "text/plain"})
        )
        Cert = self.env["crowd.expert.certificate"]
        partner = self.expert.partner_id.with_user(self.expert)
        with self.assertRaises(AccessError):
            self.other_expert.partner_id.with_user(self.expert).crowd_portal_submit_certificate(
                self.ctype.id, attachment_ids=mine.ids
            )
        with self.assertRaises(AccessError):
            partner.crowd_portal_submit_certificate(self.ctype.id, attachment_ids=theirs.ids)
        with self.assertRaises(ValidationError):
            partner.crowd_portal_submit_certificate(self.ctype.id, attachment_ids=text.ids)
        with self.assertRaises(ValidationError):
            partner.crowd_portal_submit_certificate(self.ctype.id, attachment_ids=[])
        with self.assertRaises(ValidationError):
            partner.crowd_portal_submit_certificate(self.ctype.id, attachment_ids=[2**40])
        with self.assertRaises(ValidationError):
            partner.crowd_portal_submit_certificate(self.ctype.id, issue_date="yesterday", attachment_ids=mine.ids)
        self.assertFalse(Cert.search([("partner_id", "in", (self.expert + self.other_expert).partner_id.ids)]))
        cert_id = partner.crowd_portal_submit_certificate(self.ctype.id, "G-1", "2026-01-01", None, mine.ids)
        cert = Cert.browse(cert_id)
        self.assertEqual((cert.partner_id, cert.state, cert.number), (self.expert.partner_id, "pending", "G-1"))
        self.assertEqual(cert.attachment_ids, mine)
        # an upload already attached cannot be attached again
        with self.assertRaises(AccessError):
            partner.crowd_portal_submit_certificate(self.ctype.id, attachment_ids=mine.ids)
