from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import CrowdCase


@tagged("post_install", "-at_install")
class TestSecurity(CrowdCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dispatcher = new_test_user(cls.env, login="crowd_disp", groups="crowd_service.group_crowd_user")
        cls.manager = new_test_user(cls.env, login="crowd_mgr", groups="crowd_service.group_crowd_manager")
        cls.employee = new_test_user(cls.env, login="crowd_emp", groups="base.group_user")
        cls.portal = new_test_user(cls.env, login="crowd_portal", groups="base.group_portal")
        cls.cert = cls.env["crowd.expert.certificate"].create(
            {"partner_id": cls.expert.id, "type_id": cls.cert_type_free.id}
        )
        cls.skill_line = cls.env["crowd.expert.skill"].create(
            {"partner_id": cls.expert.id, "skill_id": cls.skill_lv.id, "level_id": cls.elec_basic.id}
        )

    def test_dispatcher(self):
        env = self.env(user=self.dispatcher)
        expert = env["res.partner"].create(
            {
                "name": "New Freelancer",
                "is_crowd_expert": True,
                "crowd_skill_ids": [Command.create({"skill_id": self.skill_lv.id, "level_id": self.elec_basic.id})],
            }
        )
        self.assertEqual(expert.crowd_company_id, self.env.company)
        expert.action_crowd_activate()
        env["crowd.expert.certificate"].create({"partner_id": expert.id, "type_id": self.cert_type_free.id})
        self.cert.with_user(self.dispatcher).action_verify()
        self.assertEqual(self.cert.state, "verified")
        self.assertTrue(env["crowd.skill"].search([("code", "=", "T_LV")]))
        with self.assertRaises(AccessError):
            env["crowd.skill"].create({"name": "X", "code": "T_X", "skill_type_id": self.type_elec.id})
        with self.assertRaises(AccessError):
            env["crowd.certificate.type"].browse(self.cert_type.id).write({"reminder_days": 5})
        with self.assertRaises(AccessError):
            self.cert.with_user(self.dispatcher).unlink()
        self.assertEqual(self.cert_type.reminder_days, 30)

    def test_manager(self):
        env = self.env(user=self.manager)
        skill_type = env["crowd.skill.type"].create(
            {
                "name": "Pneumatics",
                "level_ids": [Command.create({"name": "Basic", "level_progress": 20})],
                "skill_ids": [Command.create({"name": "Valves", "code": "T_VALVES"})],
            }
        )
        self.assertEqual(skill_type.skill_ids.code, "T_VALVES")
        env["crowd.certificate.type"].create({"name": "Gas", "code": "T_GAS"})
        self.cert.with_user(self.manager).unlink()
        self.assertFalse(self.cert.exists())

    def test_employee_reads_config_only(self):
        env = self.env(user=self.employee)
        self.assertTrue(env["crowd.skill"].search_count([]))
        self.assertTrue(env["crowd.certificate.type"].search_count([]))
        with self.assertRaises(AccessError):
            env["crowd.expert.certificate"].search([])
        with self.assertRaises(AccessError):
            env["crowd.skill.type"].create({"name": "Nope"})

    def test_portal_has_no_backend_access(self):
        env = self.env(user=self.portal)
        for model, record in (
            ("crowd.skill", self.skill_lv),
            ("crowd.skill.type", self.type_elec),
            ("crowd.skill.level", self.elec_basic),
            ("crowd.certificate.type", self.cert_type),
            ("crowd.expert.certificate", self.cert),
            ("crowd.expert.skill", self.skill_line),
        ):
            with self.assertRaises(AccessError, msg=model):
                env[model].browse(record.id).read(["display_name"])
            with self.assertRaises(AccessError, msg=model):
                env[model].search([])
        with self.assertRaises(AccessError):
            env["res.partner"].browse(self.expert.id).write({"crowd_rating": 5})

    def test_multi_company_isolation(self):
        company_b = self.env["res.company"].create({"name": "Crowd Company B"})
        company_a = self.env.company
        expert_b = self.env["res.partner"].create(
            {"name": "Bruno B", "is_crowd_expert": True, "crowd_company_id": company_b.id}
        )
        cert_b = self.env["crowd.expert.certificate"].create(
            {"partner_id": expert_b.id, "type_id": self.cert_type_free.id}
        )
        user_a = new_test_user(
            self.env,
            login="crowd_disp_a",
            groups="crowd_service.group_crowd_user",
            company_id=company_a.id,
            company_ids=[Command.set(company_a.ids)],
        )
        user_b = new_test_user(
            self.env,
            login="crowd_disp_b",
            groups="crowd_service.group_crowd_user",
            company_id=company_b.id,
            company_ids=[Command.set(company_b.ids)],
        )
        env_a = self.env(user=user_a)
        experts_a = env_a["res.partner"].search([("is_crowd_expert", "=", True)])
        self.assertIn(self.expert, experts_a)
        self.assertNotIn(expert_b, experts_a)
        self.assertFalse(env_a["crowd.expert.certificate"].search([("id", "=", cert_b.id)]))
        with self.assertRaises(AccessError):
            env_a["res.partner"].browse(expert_b.id).read(["name"])
        env_b = self.env(user=user_b)
        experts_b = env_b["res.partner"].search([("is_crowd_expert", "=", True)])
        self.assertIn(expert_b, experts_b)
        self.assertNotIn(self.expert, experts_b)
        self.assertEqual(env_b["crowd.expert.certificate"].search([("id", "=", cert_b.id)]), cert_b)
        # non-experts are not affected by the pool rule
        plain = self.env["res.partner"].create({"name": "Shared contact"})
        self.assertTrue(env_a["res.partner"].search([("id", "=", plain.id)]))
        self.assertTrue(env_b["res.partner"].search([("id", "=", plain.id)]))

    def test_backend_views_load(self):
        """Every crowd action opens for a dispatcher, and the expert form is usable."""
        actions = [
            "crowd_service.action_crowd_expert",
            "crowd_service.action_crowd_certificate",
            "crowd_service.action_crowd_certificate_to_verify",
            "crowd_service.action_crowd_skill",
            "crowd_service.action_crowd_skill_type",
            "crowd_service.action_crowd_certificate_type",
        ]
        for xmlid in actions:
            action = self.env.ref(xmlid)
            views = [(v.view_id.id, v.view_mode) for v in action.view_ids] or [
                (False, mode) for mode in action.view_mode.split(",")
            ]
            result = self.env[action.res_model].with_user(self.dispatcher).get_views(views)
            self.assertTrue(result["views"], xmlid)
        for model in ("maintenance.equipment", "maintenance.request", "maintenance.equipment.category"):
            self.env[model].with_user(self.employee).get_views([(False, "form"), (False, "list")])
        form_view = self.env.ref("crowd_service.crowd_expert_view_form")
        partners = self.env["res.partner"].with_user(self.dispatcher).with_context(default_is_crowd_expert=True)
        with Form(partners, view=form_view) as form:
            form.name = "Form Expert"
            form.crowd_tier = "specialist"
            form.crowd_radius_km = 50
            with form.crowd_skill_ids.new() as line:
                line.skill_id = self.skill_lv
                line.level_id = self.elec_expert
        expert = form.record
        self.assertTrue(expert.is_crowd_expert)
        self.assertEqual(expert.crowd_skill_ids.level_progress, 90)
