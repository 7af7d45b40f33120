from datetime import datetime

from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import CrowdCase


@tagged("post_install", "-at_install")
class TestExpertPool(CrowdCase):
    def _assert_sql_rejects(self, record, vals):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            record.write(vals)
            record.flush_recordset()

    def test_defaults(self):
        self.assertEqual(self.expert.crowd_state, "candidate")
        self.assertEqual(self.expert.crowd_radius_km, 30.0)
        self.assertEqual(self.expert.crowd_max_jobs, 1)
        self.assertEqual(self.expert.crowd_rating, 0.0)
        self.assertEqual(self.expert.crowd_company_id, self.env.company)
        plain = self.env["res.partner"].create({"name": "Not an expert"})
        self.assertFalse(plain.crowd_company_id, "only experts join a company pool")

    def test_invalid_coordinates(self):
        for vals in (
            {"partner_latitude": 90.5},
            {"partner_latitude": -91},
            {"partner_longitude": 180.01},
            {"partner_longitude": -200},
        ):
            with self.assertRaises(ValidationError):
                self.expert.write(vals)
            self.expert.invalidate_recordset()
            self.assertAlmostEqual(self.expert.partner_latitude, 46.948)
            self.assertAlmostEqual(self.expert.partner_longitude, 7.4474)
        count = self.env["res.partner"].search_count([("name", "=", "Bad Pos")])
        with self.assertRaises(ValidationError):
            self.env["res.partner"].create({"name": "Bad Pos", "is_crowd_expert": True, "partner_latitude": 100})
        self.assertEqual(self.env["res.partner"].search_count([("name", "=", "Bad Pos")]), count)
        # the bounds themselves are valid
        self.expert.write({"partner_latitude": -90, "partner_longitude": 180})

    def test_negative_radius_and_capacity(self):
        self._assert_sql_rejects(self.expert, {"crowd_radius_km": -1})
        self._assert_sql_rejects(self.expert, {"crowd_max_jobs": -1})
        self._assert_sql_rejects(self.expert, {"crowd_cost_per_job": -5})
        self._assert_sql_rejects(self.expert, {"crowd_rating": 5.5})
        self.expert.invalidate_recordset()
        self.assertEqual(self.expert.crowd_radius_km, 30.0)
        self.assertEqual(self.expert.crowd_max_jobs, 1)
        self.expert.write({"crowd_radius_km": 0, "crowd_max_jobs": 0})

    def test_skill_level_from_other_type(self):
        with self.assertRaises(ValidationError):
            self.env["crowd.expert.skill"].create(
                {"partner_id": self.expert.id, "skill_id": self.skill_lv.id, "level_id": self.mech_basic.id}
            )
        self.assertFalse(self.expert.crowd_skill_ids)
        line = self.env["crowd.expert.skill"].create(
            {"partner_id": self.expert.id, "skill_id": self.skill_lv.id, "level_id": self.elec_basic.id}
        )
        with self.assertRaises(ValidationError):
            line.write({"level_id": self.mech_basic.id})
        line.invalidate_recordset()
        self.assertEqual(line.level_id, self.elec_basic)
        self.assertEqual(line.skill_type_id, self.type_elec)
        self.assertEqual(line.level_progress, 30)

    def test_duplicate_skill_line(self):
        Line = self.env["crowd.expert.skill"]
        Line.create({"partner_id": self.expert.id, "skill_id": self.skill_lv.id, "level_id": self.elec_basic.id})
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            Line.create({"partner_id": self.expert.id, "skill_id": self.skill_lv.id, "level_id": self.elec_expert.id})
        self.assertEqual(len(self.expert.crowd_skill_ids), 1)
        self.assertEqual(self.expert.crowd_skill_ids.level_id, self.elec_basic)

    def test_skill_verification_stamp(self):
        line = self.env["crowd.expert.skill"].create(
            {"partner_id": self.expert.id, "skill_id": self.skill_lv.id, "level_id": self.elec_basic.id}
        )
        self.assertFalse(line.verified_by_id)
        line.verified = True
        self.assertEqual(line.verified_by_id, self.env.user)
        self.assertTrue(line.verified_on)
        line.verified = False
        self.assertFalse(line.verified_by_id)

    def test_level_progress_range(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            self.env["crowd.skill.level"].create(
                {"name": "Too much", "level_progress": 101, "skill_type_id": self.type_elec.id}
            )
        self.assertEqual(self.type_elec.level_ids.mapped("level_progress"), [30, 90])

    def test_partner_technician_needs_company(self):
        with self.assertRaises(ValidationError):
            self.expert.write({"crowd_kind": "partner"})
        self.expert.invalidate_recordset()
        self.assertEqual(self.expert.crowd_kind, "freelance")
        shop = self.env["res.partner"].create({"name": "Repair Shop AG", "is_company": True})
        self.expert.write({"crowd_kind": "partner", "crowd_company_partner_id": shop.id})
        self.assertEqual(self.expert.crowd_kind, "partner")

    def test_state_machine(self):
        expert = self.expert
        with self.assertRaises(UserError):
            expert.action_crowd_suspend()  # candidate cannot be suspended
        self.assertEqual(expert.crowd_state, "candidate")
        expert.action_crowd_start_onboarding()
        self.assertEqual(expert.crowd_state, "onboarding")
        with self.assertRaises(UserError):
            expert.action_crowd_start_onboarding()
        expert.action_crowd_activate()
        self.assertEqual(expert.crowd_state, "active")
        with self.assertRaises(UserError):
            expert.action_crowd_activate()
        with self.assertRaises(UserError):
            expert.action_crowd_reinstate()
        # suspending needs a reason
        with self.assertRaises(UserError):
            expert.action_crowd_suspend()
        self.assertEqual(expert.crowd_state, "active")
        expert.crowd_set_online(True)
        expert.action_crowd_suspend(reason="Customer complaint")
        self.assertEqual(expert.crowd_state, "suspended")
        self.assertEqual(expert.crowd_state_reason, "Customer complaint")
        self.assertFalse(expert.crowd_online, "a suspended expert goes offline")
        expert.action_crowd_reinstate()
        self.assertEqual(expert.crowd_state, "active")
        self.assertFalse(expert.crowd_state_reason)
        # reason typed on the form first, then the button
        expert.crowd_state_reason = "Retired"
        expert.action_crowd_offboard()
        self.assertEqual(expert.crowd_state, "offboarded")
        with self.assertRaises(UserError):
            expert.action_crowd_offboard(reason="again")
        # writing the state directly still needs a reason
        expert.action_crowd_reinstate()
        with self.assertRaises(ValidationError):
            expert.write({"crowd_state": "suspended"})
        expert.invalidate_recordset()
        self.assertEqual(expert.crowd_state, "active")

    def test_not_an_expert_cannot_transition(self):
        plain = self.env["res.partner"].create({"name": "Plain contact"})
        with self.assertRaises(UserError):
            plain.action_crowd_activate()

    def test_set_online(self):
        self.expert.crowd_set_online(True, lat=46.95, lon=7.44)
        self.assertTrue(self.expert.crowd_online)
        self.assertTrue(self.expert.crowd_last_seen)
        self.assertAlmostEqual(self.expert.partner_latitude, 46.95)
        with self.assertRaises(ValidationError):
            self.expert.crowd_set_online(True, lat=123.0, lon=7.0)
        self.expert.invalidate_recordset()
        self.assertAlmostEqual(self.expert.partner_latitude, 46.95)

    def test_user_link(self):
        self.assertFalse(self.expert.crowd_user_id)
        user = self.env["res.users"].create(
            {
                "name": "Anna",
                "login": "anna.expert@test",
                "partner_id": self.expert.id,
                "groups_id": [(6, 0, [self.env.ref("base.group_portal").id])],
            }
        )
        self.assertEqual(self.expert.crowd_user_id, user)

    def test_availability(self):
        calendar = self.env["resource.calendar"].create(
            {
                "name": "Mon-Fri 8-17 UTC",
                "tz": "UTC",
                "attendance_ids": [
                    (
                        0,
                        0,
                        {
                            "name": f"Day {d}",
                            "dayofweek": str(d),
                            "hour_from": 8,
                            "hour_to": 17,
                            "day_period": "morning",
                        },
                    )
                    for d in range(5)
                ],
            }
        )
        other = self.env["res.partner"].create({"name": "Always", "is_crowd_expert": True})
        self.expert.crowd_calendar_id = calendar
        experts = self.expert | other
        monday_10 = datetime(2026, 3, 2, 10, 0)
        sunday_10 = datetime(2026, 3, 1, 10, 0)
        monday_20 = datetime(2026, 3, 2, 20, 0)
        self.assertEqual(experts._crowd_is_available_at(monday_10), {self.expert.id: True, other.id: True})
        self.assertEqual(experts._crowd_is_available_at(sunday_10), {self.expert.id: False, other.id: True})
        self.assertEqual(experts._crowd_is_available_at(monday_20), {self.expert.id: False, other.id: True})
        self.env["crowd.expert.blackout"].create(
            {
                "partner_id": other.id,
                "date_from": datetime(2026, 3, 2, 9, 0),
                "date_to": datetime(2026, 3, 2, 10, 0),
                "reason": "Dentist",
            }
        )
        self.assertEqual(experts._crowd_is_available_at(monday_10), {self.expert.id: True, other.id: False})
        self.assertEqual(experts._crowd_filter_available_at(monday_10), self.expert)

    def test_blackout_dates(self):
        with self.assertRaises(ValidationError):
            self.env["crowd.expert.blackout"].create(
                {
                    "partner_id": self.expert.id,
                    "date_from": datetime(2026, 3, 2, 9, 0),
                    "date_to": datetime(2026, 3, 1, 9, 0),
                }
            )
        self.assertFalse(self.expert.crowd_blackout_ids)

    def test_state_wizard(self):
        self.expert.action_crowd_activate()
        Wizard = self.env["crowd.expert.state.wizard"].with_context(
            active_model="res.partner", active_ids=self.expert.ids, default_transition="suspend"
        )
        with Form(Wizard) as form:
            self.assertEqual(form.partner_ids[:], self.expert)
            form.reason = "Safety incident"
        form.record.action_confirm()
        self.assertEqual(self.expert.crowd_state, "suspended")
        self.assertEqual(self.expert.crowd_state_reason, "Safety incident")
        wizard = Wizard.create({"transition": "offboard", "reason": "Left the region"})
        wizard.action_confirm()
        self.assertEqual(self.expert.crowd_state, "offboarded")
        self.assertEqual(self.expert.crowd_state_reason, "Left the region")
