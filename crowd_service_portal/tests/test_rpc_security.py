"""The RPC suite of the portal addon: every public method and writable field that crowd_service_portal
defines (the experts' portal actions, the customers' service request, the application review, the
invitation wizard, the rate limit counters), called over ``/web/dataset/call_kw`` by each role, with and
without forged context keys. The probe matrix is crowd_service's (``CrowdRpcCase``): a refusal is a clean
Odoo error that changes nothing; what a role may do is the allow-list below.
"""

from odoo import Command
from odoo.tests import tagged

from odoo.addons.crowd_service.tests.common_rpc import CrowdRpcCase

from ..models.res_partner_join import JOIN_SYSTEM_FIELDS
from .common_join import PNG, CrowdJoinCommon

ROLES = ("expert", "customer", "employee", "dispatcher", "manager", "foreign_dispatcher")
DISPATCHERS = {"dispatcher", "manager"}
SITE = (46.948, 7.4474)

ALLOWED = [
    # each expert: online/offline and their own certificates, on their own partner
    ({"expert"}, "res.partner", ("crowd_portal_set_online", "crowd_portal_submit_certificate"), ("expert_partner",)),
    # a customer reports a problem on their company's asset (an @api.model method: no record)
    ({"customer"}, "maintenance.request", ("crowd_request_service",), "*"),
    # every employee manages requests (maintenance's access rights)
    ({"employee"} | DISPATCHERS, "maintenance.request", ("copy",), "*"),
    ({"manager"}, "maintenance.request", ("unlink",), "*"),
    # dispatchers review applications and manage the pool (crowd_service's rights); managers delete
    (DISPATCHERS, "res.partner", ("action_crowd_join_*", "write:*", "copy"), "*"),
    ({"manager"}, "res.partner", ("unlink",), "*"),
    # the state wizard (reject) and the invitation wizard are the crowd users' transient UI records
    (DISPATCHERS | {"foreign_dispatcher"}, "crowd.expert.state.wizard", ("*",), "*"),
    ("*", "crowd.expert.state.wizard", ("default_get",), "*"),
    (DISPATCHERS | {"foreign_dispatcher"}, "crowd.join.invite.wizard", ("*",), "*"),
]
# nobody writes these directly: the application's dates and origin, and its state (Approve / Reject)
SYSTEM_ONLY = [
    ("*", "res.partner", tuple(f"write:{fname}" for fname in JOIN_SYSTEM_FIELDS), "*"),
    ("*", "res.partner", ("write:crowd_state",), ("applicant",)),
]


@tagged("post_install", "-at_install", "crowd_rpc")
class TestPortalRpcSecurity(CrowdJoinCommon, CrowdRpcCase):
    ADDONS = ("crowd_service_portal",)
    ROLES = ROLES
    ALLOWED = ALLOWED
    SYSTEM_ONLY = SYSTEM_ONLY
    PORTAL_PROBE_ROLE = "expert"
    INTERNAL_PROBE_ROLE = "dispatcher"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        cls._setup_join()
        env = cls.env
        cls.company = env.company
        cls.other_company = env["res.company"].create({"name": "RPC Portal Other Company"})
        cls.make_user("expert", "base.group_portal")
        cls.make_user("customer", "base.group_portal")
        cls.make_user("employee", "base.group_user")
        cls.make_user("dispatcher", "crowd_service.group_crowd_user")
        cls.make_user("manager", "crowd_service.group_crowd_manager")
        cls.make_user(
            "foreign_dispatcher",
            "crowd_service.group_crowd_user",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )
        cls.expert = cls.users["expert"].partner_id
        cls.expert.write(
            {"is_crowd_expert": True, "crowd_state": "active", "partner_latitude": SITE[0],
             "partner_longitude": SITE[1], "crowd_company_id": cls.company.id}
        )  # fmt: skip
        cls.acme = env["res.partner"].create({"name": "Acme portal RPC", "is_company": True})
        cls.users["customer"].partner_id.parent_id = cls.acme
        cls.equipment = env["maintenance.equipment"].create(
            {"name": "RPC portal press", "crowd_customer_id": cls.acme.id}
        )
        cls.request = env["maintenance.request"].create(
            {"name": "RPC portal request", "equipment_id": cls.equipment.id}
        )
        # an application whose e-mail is confirmed: ready for review
        cls.applicant = (
            env["res.partner"]
            .sudo()
            ._crowd_apply(
                {
                    "name": "RPC applicant",
                    "email": "rpc.applicant@example.com",
                    "latitude": SITE[0],
                    "longitude": SITE[1],
                    "skills": [(cls.skill.id, cls.level_basic.id)],
                    "certificates": [{"type_id": cls.cert_type.id, "filename": "pass.png", "content": PNG}],
                },
                ip_address="203.0.113.9",
            )
        )
        token = cls.applicant.sudo()._generate_signup_token()
        env["res.partner"]._crowd_join_confirm(token, "rpc-applicant-pw", "rpc-applicant-pw")
        cls.attempt = env["crowd.join.attempt"].search([("ip_address", "=", "203.0.113.9")])
        cls.state_wizard = (
            env["crowd.expert.state.wizard"]
            .with_user(cls.users["dispatcher"])
            .create({"partner_ids": [Command.set(cls.applicant.ids)], "transition": "reject", "reason": "RPC"})
        )
        cls.invite_wizard = (
            env["crowd.join.invite.wizard"]
            .with_user(cls.users["dispatcher"])
            .create({"name": "RPC invited", "email": "rpc.invited@example.com"})
        )

    def targets(self):
        return {
            "res.partner": [("expert_partner", self.expert), ("applicant", self.applicant)],
            "maintenance.request": [("request", self.request)],
            "crowd.expert.state.wizard": [("state_wizard", self.state_wizard)],
            "crowd.join.invite.wizard": [("invite_wizard", self.invite_wizard)],
            "crowd.join.attempt": [("attempt", self.attempt)],
        }

    def field_targets(self, model, targets):
        if model == "res.partner":
            return targets
        return targets[:1]

    def param_values(self, model, record):
        return {
            "online": True,
            "latitude": SITE[0],
            "longitude": SITE[1],
            "type_id": self.cert_type.id,
            "number": "RPC-1",
            "issue_date": None,
            "expiry_date": None,
            "attachment_ids": [],
            "equipment_id": self.equipment.id,
            "name": "RPC probe problem",
            "description": "RPC probe",
            "priority": "2",
            "reason": "RPC probe",
            "fields_list": list(self.env[model]._fields),
        }

    def extra_context(self, model, method):
        if method == "default_get":
            return {"active_model": "res.partner", "active_ids": self.applicant.ids}
        return {}

    def forged_context(self, role):
        return {
            "active_test": False,
            "sudo": True,
            "su": True,
            "install_mode": True,
            "tracking_disable": True,
            "no_reset_password": True,
            "signup_valid": True,
            "create_user": True,
        }

    def company_context(self, role):
        other = self.other_company if self.users[role].company_id == self.company else self.company
        return {"allowed_company_ids": [other.id, self.users[role].company_id.id]}

    def test_10_methods(self):
        self.check_methods()

    def test_20_fields(self):
        self.check_fields()

    def test_25_forged_company(self):
        self.check_forged_company()

    def test_30_create(self):
        self.check_create()

    def test_40_private_methods(self):
        """The public form's and the confirmation's methods are private: nobody calls them over RPC."""
        values = {"name": "RPC spam", "email": "rpc.spam@example.com", "latitude": 1, "longitude": 1}
        for method, args in (
            ("_crowd_apply", [values, "203.0.113.10"]),
            ("_crowd_join_confirm", ["token", "password1", "password1"]),
            ("_crowd_join_invitation", ["token"]),
        ):
            for role in ROLES:
                _result, error = self.probe(role, "res.partner", method, args, context={"sudo": True})
                self.assertIn("Private methods", error["data"]["message"])
        for role in ROLES:
            _result, error = self.probe(role, "crowd.join.attempt", "_crowd_register", ["203.0.113.11"])
            self.assertIn("Private methods", error["data"]["message"])
        self.assertNoProblems()

    def test_45_unknown_ids(self):
        self.check_unknown_ids()

    def test_50_review_over_rpc(self):
        """Over RPC, a dispatcher cannot approve before the review, then approves; the expert cannot."""
        _result, error = self.call("expert", "res.partner", "action_crowd_join_approve", [self.applicant.ids])
        self.assertEqual(error["data"]["name"], "odoo.exceptions.AccessError")
        _result, error = self.call("dispatcher", "res.partner", "action_crowd_join_approve", [self.applicant.ids])
        self.assertIn("Before approving", error["data"]["message"])
        self.applicant.crowd_skill_ids.with_user(self.users["dispatcher"]).action_verify()
        self.applicant.crowd_certificate_ids.with_user(self.users["dispatcher"]).action_verify()
        _result, error = self.call(
            "foreign_dispatcher", "res.partner", "action_crowd_join_approve", [self.applicant.ids]
        )
        self.assertTrue(error, "a dispatcher of another company does not review our applicants")
        _result, error = self.call("dispatcher", "res.partner", "action_crowd_join_approve", [self.applicant.ids])
        self.assertFalse(error, error)
        self.applicant.invalidate_recordset()
        self.assertEqual(self.applicant.crowd_state, "onboarding")
        self.assertTrue(self.applicant._crowd_join_user().active)
