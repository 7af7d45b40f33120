import re
from types import SimpleNamespace
from unittest.mock import patch

from geopy.exc import GeocoderServiceError

from odoo import Command
from odoo.exceptions import AccessDenied, AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common_join import PDF, PNG, CrowdJoinCommon

PARTNER = "odoo.addons.crowd_service_portal.models.res_partner_join.ResPartner"


@tagged("post_install", "-at_install")
class TestCrowdJoin(CrowdJoinCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_join()
        cls.Partner = cls.env["res.partner"]

    def _apply(self, ip="198.51.100.1", **overrides):
        return self.Partner.sudo()._crowd_apply(self._values(**overrides), ip_address=ip)

    def _token(self, partner):
        mail = self._mails(partner, "Confirm your e-mail")
        self.assertEqual(len(mail), 1, "one confirmation e-mail")
        match = re.search(r"/crowd/join/confirm\?token=([\w.\-]+)", mail.body_html)
        self.assertTrue(match, mail.body_html)
        return match.group(1)

    def _confirmed(self, **overrides):
        partner = self._apply(**overrides)
        self.Partner._crowd_join_confirm(self._token(partner), "s3cret-pass", "s3cret-pass")
        return partner

    def _reviewed(self, partner):
        partner.crowd_skill_ids.with_user(self.dispatcher).action_verify()
        partner.crowd_certificate_ids.with_user(self.dispatcher).action_verify()

    def _assert_can_log_in(self, user, can):
        """What Odoo's login does (res.users._login): find the active user by login, check the password."""
        Users = self.env["res.users"]
        found = Users.search(Users._get_login_domain(user.login))
        self.assertEqual(found, user if can else Users)
        # the password chosen on the confirmation page is the user's
        user.with_user(user)._check_credentials({"type": "password", "password": "s3cret-pass"}, {"interactive": True})
        with self.assertRaises(AccessDenied):
            user.with_user(user)._check_credentials(
                {"type": "password", "password": "wrong-pass"}, {"interactive": True}
            )

    # ------------------------------------------------------------------ application
    def test_apply_creates_an_applicant(self):
        partner = self._apply(company_name="Lift  AG ")
        self.assertRecordValues(
            partner,
            [
                {
                    "name": "Lena Frei",
                    "email": "lena.frei@example.com",
                    "is_crowd_expert": True,
                    "crowd_state": "applied",
                    "crowd_tier": "technician",
                    "crowd_kind": "freelance",
                    "crowd_rating": 0.0,
                    "crowd_online": False,
                    "crowd_company_id": self.env.company.id,
                    "partner_latitude": 46.948,
                    "partner_longitude": 7.4474,
                    "crowd_radius_km": 40.0,
                }
            ],
        )
        self.assertTrue(partner.crowd_applied_on)
        self.assertFalse(partner.crowd_email_confirmed_on)
        self.assertEqual(partner.crowd_applied_company, "Lift AG", "declared, not linked to a company")
        self.assertEqual(partner.display_name, "Lena Frei")
        self.assertEqual(partner.crowd_skill_ids.mapped("level_id"), self.level_expert)
        self.assertFalse(partner.crowd_skill_ids.verified, "a declared level waits for a dispatcher")
        cert = partner.crowd_certificate_ids
        self.assertEqual((cert.type_id, cert.number, cert.state), (self.cert_type, "SAFE-42", "pending"))
        self.assertEqual(cert.attachment_ids.mimetype, "image/png")
        self.assertEqual(cert.attachment_ids.raw, PNG)
        self.assertFalse(partner._crowd_join_user(), "no user before the e-mail is confirmed")
        self.assertTrue(self._token(partner))

    def test_privileged_values_are_ignored(self):
        """Whatever an applicant sends, the pool fields are the system's."""
        other_company = self.env["res.company"].create({"name": "Join other company"})
        partner = self._apply(
            crowd_state="active",
            crowd_tier="specialist",
            crowd_kind="employee",
            crowd_rating=5.0,
            crowd_company_id=other_company.id,
            company_id=other_company.id,
            is_company=True,
            crowd_online=True,
            crowd_email_confirmed_on="2020-01-01 00:00:00",
            user_ids=[Command.create({"login": "forged", "name": "Forged"})],
            certificates=[
                {
                    "type_id": self.cert_type.id,
                    "filename": "a.pdf",
                    "content": PDF,
                    "state": "verified",
                    "verified_by_id": self.dispatcher.id,
                }
            ],
            skills=[(self.skill.id, self.level_basic.id)],
        )
        self.assertRecordValues(
            partner,
            [
                {
                    "crowd_state": "applied",
                    "crowd_tier": "technician",
                    "crowd_kind": "freelance",
                    "crowd_rating": 0.0,
                    "crowd_company_id": self.env.company.id,
                    "company_id": False,
                    "is_company": False,
                    "crowd_online": False,
                    "crowd_email_confirmed_on": False,
                }
            ],
        )
        self.assertEqual(partner.crowd_certificate_ids.state, "pending")
        self.assertFalse(partner.crowd_certificate_ids.verified_by_id)
        self.assertFalse(partner.crowd_skill_ids.verified)
        self.assertFalse(self.env["res.users"].search([("login", "=", "forged")]))

    def test_bad_input_is_refused_and_creates_nothing(self):
        cases = [
            ({"name": ""}, "required"),
            ({"email": "not-an-email"}, "not a valid e-mail"),
            ({"latitude": "95"}, "latitude"),
            ({"radius_km": "-3"}, "radius"),
            ({"skills": [(self.skill.id, self.other_level.id)]}, "does not fit"),
            ({"skills": [(self.skill.id, self.level_basic.id), (self.skill.id, self.level_expert.id)]}, "twice"),
            ({"skills": [(2**40, self.level_basic.id)]}, "Choose your skills"),
            ({"certificates": [{"type_id": self.cert_type.id, "filename": "a.png"}]}, "Attach the document"),
            (
                {"certificates": [{"type_id": self.cert_type.id, "content": PNG, "expiry_date": "2001-01-01"}]},
                "expired",
            ),
            ({"certificates": [{"type_id": 0, "content": PNG}]}, "type of each certificate"),
        ]
        for overrides, message in cases:
            with self.subTest(overrides=overrides), self.assertRaisesRegex((UserError, ValidationError), message):
                self._apply(**overrides)
        self.assertFalse(self.Partner.search([("email", "=", "lena.frei@example.com")]))

    def test_file_type_and_size(self):
        """The type is what the bytes are (not the name), and the size is bounded by a system parameter."""
        script = {"type_id": self.cert_type.id, "filename": "pass.png", "content": b"#!/bin/sh\nrm -rf /\n"}
        with self.assertRaisesRegex(ValidationError, "JPEG, PNG or PDF only"):
            self._apply(certificates=[script])
        self.env["ir.config_parameter"].sudo().set_param("crowd_service_portal.join_max_file_mb", 1)
        big = {"type_id": self.cert_type.id, "filename": "big.png", "content": PNG + b"\x00" * (1024 * 1024)}
        with self.assertRaisesRegex(ValidationError, "larger than 1 MB"):
            self._apply(certificates=[big])
        too_many = [dict(script, content=PDF)] * 6
        with self.assertRaisesRegex(ValidationError, "at most 5 certificates"):
            self._apply(certificates=too_many)
        self.assertFalse(self.Partner.search([("email", "=", "lena.frei@example.com")]))
        self.assertTrue(self._apply(certificates=[dict(script, content=PDF, filename="pass.pdf")]))

    def test_duplicate_email(self):
        self._apply()
        with self.assertRaisesRegex(UserError, "already exists"):
            self._apply(email="LENA.FREI@example.com", name="Lena again")
        new_test_user(self.env, login="taken@example.com", email="taken@example.com", groups="base.group_portal")
        with self.assertRaisesRegex(UserError, "already exists"):
            self._apply(email="taken@example.com")

    def test_geocoding(self):
        """The address is geocoded by the (patched) geopy geocoder; tests never reach the network."""
        self.assertIsNone(self.Partner._crowd_geocoder(), "no real geocoder in tests")
        calls = []

        class FakeGeocoder:
            def geocode(self, query):
                calls.append(query)
                if "Nowhere" in query:
                    return None
                if "Down" in query:
                    raise GeocoderServiceError("service down")
                return SimpleNamespace(latitude=46.95, longitude=7.44)

        swiss = self.env.ref("base.ch")
        with patch(f"{PARTNER}._crowd_geocoder", return_value=FakeGeocoder()):
            partner = self._apply(latitude="", longitude="", street="Bundesplatz 3", zip="3005", country_id=swiss.id)
            self.assertEqual((partner.partner_latitude, partner.partner_longitude), (46.95, 7.44))
            self.assertEqual(calls, ["Bundesplatz 3, 3005, Bern, Switzerland"])
            for city in ("Nowhere", "Down"):
                with self.assertRaisesRegex(ValidationError, "could not find"):
                    self._apply(latitude="", longitude="", city=city, email=f"{city}@example.com")
        with self.assertRaisesRegex(ValidationError, "home base"):
            self._apply(latitude="", longitude="", city="", email="nobase@example.com")

    # ------------------------------------------------------------------ spam
    def test_honeypot_creates_nothing(self):
        result = self._apply(honeypot="http://spam.example.com")
        self.assertFalse(result)
        self.assertFalse(self.Partner.search([("email", "=", "lena.frei@example.com")]))
        attempt = self.env["crowd.join.attempt"].search([("ip_address", "=", "198.51.100.1")])
        self.assertEqual((attempt.attempt_count, attempt.spam_count), (1, 1))

    def test_rate_limit_per_ip(self):
        self.env["ir.config_parameter"].sudo().set_param("crowd_service_portal.join_rate_limit", 2)
        self._apply(email="a@example.com")
        try:  # not assertRaises, whose savepoint would undo the count as well
            self._apply(email="b@example.com", latitude="99")
            self.fail("a latitude of 99 is refused")
        except ValidationError:
            pass  # the refused application counts too
        with self.assertRaisesRegex(UserError, "Too many applications"):
            self._apply(email="c@example.com")
        self.assertTrue(self._apply(email="d@example.com", ip="198.51.100.2"), "another address is not limited")
        attempt = self.env["crowd.join.attempt"].search([("ip_address", "=", "198.51.100.1")])
        attempt.sudo().window_start = "2020-01-01 00:00:00"  # the window is over
        self.assertTrue(self._apply(email="e@example.com"))

    # ------------------------------------------------------------------ confirmation (auth_signup)
    def test_confirm_creates_an_archived_user(self):
        partner = self._apply()
        token = self._token(partner)
        with self.assertRaisesRegex(ValidationError, "at least 8"):
            self.Partner._crowd_join_confirm(token, "short", "short")
        with self.assertRaisesRegex(ValidationError, "do not match"):
            self.Partner._crowd_join_confirm(token, "s3cret-pass", "s3cret-pas")
        self.Partner._crowd_join_confirm(token, "s3cret-pass", "s3cret-pass")
        user = partner._crowd_join_user()
        self.assertTrue(user)
        self.assertFalse(user.active, "no access before the approval")
        self.assertEqual(user.login, "lena.frei@example.com")
        self.assertTrue(user._is_portal())
        self.assertTrue(partner.crowd_email_confirmed_on)
        self._assert_can_log_in(user, False)
        with self.assertRaisesRegex(UserError, "no longer valid"):
            self.Partner._crowd_join_confirm(token, "s3cret-pass", "s3cret-pass")

    # ------------------------------------------------------------------ review
    def test_approve(self):
        partner = self._confirmed()
        for user in (self.employee, new_test_user(self.env, login="join_portal", groups="base.group_portal")):
            with self.assertRaises(AccessError):
                partner.with_user(user).action_crowd_join_approve()
        applicant = partner.with_user(self.dispatcher)
        with self.assertRaisesRegex(UserError, "confirm or remove every declared skill.*verify or revoke"):
            applicant.action_crowd_join_approve()
        with self.assertRaisesRegex(AccessError, "Approve and Reject"):
            applicant.write({"crowd_state": "onboarding"})
        self._reviewed(partner)
        applicant.action_crowd_join_approve()
        user = partner._crowd_join_user()
        self.assertTrue(user.active)
        self.assertTrue(user.has_group("base.group_portal"))
        self.assertEqual(partner.crowd_state, "onboarding")
        self.assertEqual(partner.crowd_user_id, user)
        welcome = self._mails(partner, "Welcome to the crowd")
        self.assertEqual(len(welcome), 1)
        self.assertIn("Before your first job", welcome.body_html)
        self.assertIn("/web/login", welcome.body_html)
        self._assert_can_log_in(user, True)
        with self.assertRaisesRegex(UserError, "no application to review"):
            applicant.action_crowd_join_approve()

    def test_approve_needs_a_confirmed_email(self):
        partner = self._apply()
        self._reviewed(partner)
        with self.assertRaisesRegex(UserError, "not confirmed their e-mail"):
            partner.with_user(self.dispatcher).action_crowd_join_approve()
        partner.with_user(self.dispatcher).action_crowd_join_resend()
        self.assertEqual(len(self._mails(partner, "Confirm your e-mail")), 2)

    def test_reject(self):
        partner = self._confirmed()
        applicant = partner.with_user(self.dispatcher)
        with self.assertRaises(AccessError):
            partner.with_user(self.employee).action_crowd_join_reject("No")
        with self.assertRaisesRegex(UserError, "reason"):
            applicant.action_crowd_join_reject("  ")
        wizard = (
            self.env["crowd.expert.state.wizard"]
            .with_user(self.dispatcher)
            .with_context(active_model="res.partner", active_ids=partner.ids, default_transition="reject")
            .create({"reason": "Your electrician licence has expired."})
        )
        wizard.action_confirm()
        self.assertEqual(
            (partner.crowd_state, partner.crowd_state_reason), ("rejected", "Your electrician licence has expired.")
        )
        mail = self._mails(partner, "Your application to join")
        self.assertEqual(len(mail), 1)
        self.assertIn("Your electrician licence has expired.", mail.body_html)
        self.assertFalse(partner._crowd_join_user().active, "a rejected applicant gets no access")

    def test_reject_before_confirmation_kills_the_link(self):
        partner = self._apply()
        token = self._token(partner)
        partner.with_user(self.dispatcher).action_crowd_join_reject("Duplicate application")
        with self.assertRaisesRegex(UserError, "no longer valid"):
            self.Partner._crowd_join_confirm(token, "s3cret-pass", "s3cret-pass")
        self.assertFalse(partner._crowd_join_user())

    def test_system_fields_and_states(self):
        expert = self.Partner.with_user(self.dispatcher).create({"name": "Backend expert", "is_crowd_expert": True})
        self.assertEqual(expert.crowd_state, "candidate")
        for vals in ({"crowd_state": "applied"}, {"crowd_email_confirmed_on": "2026-01-01 00:00:00"}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                expert.write(vals)
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                self.Partner.with_user(self.dispatcher).create(dict(vals, name="x", is_crowd_expert=True))

    # ------------------------------------------------------------------ invitations
    def test_invite_prefills_and_grants_nothing(self):
        wizard = (
            self.env["crowd.join.invite.wizard"]
            .with_user(self.dispatcher)
            .create({"name": "Max Invited", "email": "Max@Example.com", "company_name": "Lift AG",
                     "skill_ids": [Command.set(self.skill.ids)]})
        )  # fmt: skip
        wizard.action_send()
        mail = self.env["mail.mail"].sudo().search([("email_to", "=", "max@example.com")])
        self.assertEqual(len(mail), 1)
        token = re.search(r"/crowd/join\?invite=([\w.\-]+)", mail.body_html).group(1)
        prefill = self.Partner._crowd_join_invitation(token)
        self.assertEqual(
            prefill,
            {"name": "Max Invited", "email": "max@example.com", "company_name": "Lift AG",
             "skill_ids": self.skill.ids, "inviter": self.dispatcher.id},
        )  # fmt: skip
        self.assertEqual(self.Partner._crowd_join_invitation(token[:-2] + "xx"), {}, "a tampered token is nothing")
        partner = self._apply(email="max@example.com", name="Max Invited", invite=token)
        self.assertEqual(partner.crowd_invited_by_id, self.dispatcher)
        self.assertEqual((partner.crowd_state, partner.crowd_tier), ("applied", "technician"))
        self.assertFalse(partner._crowd_join_user(), "the invitation does not confirm the e-mail")
        self.assertEqual(len(self._mails(partner, "Confirm your e-mail")), 1)
        with self.assertRaises(AccessError):
            self.env["crowd.join.invite.wizard"].with_user(self.employee).create(
                {"name": "x", "email": "x@example.com"}
            )
