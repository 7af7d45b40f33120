from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import CrowdCase


@tagged("post_install", "-at_install")
class TestAssetDefaults(CrowdCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site = cls.env["res.partner"].create(
            {"name": "Site Thun", "partner_latitude": 46.758, "partner_longitude": 7.628}
        )
        cls.category = cls.env["maintenance.equipment.category"].create(
            {
                "name": "Lifts (test)",
                "crowd_required_skill_ids": [
                    Command.create({"skill_id": cls.skill_lv.id, "min_level_id": cls.elec_expert.id}),
                    Command.create({"skill_id": cls.skill_hyd.id}),
                ],
                "crowd_certificate_type_ids": [Command.set(cls.cert_type.ids)],
            }
        )
        cls.category_other = cls.env["maintenance.equipment.category"].create(
            {"name": "Routers (test)", "crowd_certificate_type_ids": [Command.set(cls.cert_type_free.ids)]}
        )

    def _equipment(self, **vals):
        base = {"name": "Lift 1", "category_id": self.category.id, "crowd_site_id": self.site.id}
        base.update(vals)
        return self.env["maintenance.equipment"].create(base)

    def test_category_to_equipment(self):
        equipment = self._equipment()
        self.assertEqual(equipment.crowd_required_skill_ids.skill_id, self.skill_lv | self.skill_hyd)
        self.assertEqual(
            equipment.crowd_required_skill_ids.filtered(lambda r: r.skill_id == self.skill_lv).min_level_id,
            self.elec_expert,
        )
        self.assertEqual(equipment.crowd_certificate_type_ids, self.cert_type)
        self.assertAlmostEqual(equipment.crowd_latitude, 46.758)
        self.assertAlmostEqual(equipment.crowd_longitude, 7.628)
        # the category's lines are copied, not shared
        self.assertFalse(equipment.crowd_required_skill_ids & self.category.crowd_required_skill_ids)
        self.assertEqual(len(self.category.crowd_required_skill_ids), 2)

    def test_equipment_override_kept(self):
        equipment = self._equipment()
        hyd_line = equipment.crowd_required_skill_ids.filtered(lambda r: r.skill_id == self.skill_hyd)
        equipment.write(
            {
                "crowd_required_skill_ids": [Command.unlink(hyd_line.id)],
                "crowd_certificate_type_ids": [Command.set(self.cert_type_free.ids)],
                "crowd_latitude": 46.7,
            }
        )
        # a change on the category does not overwrite the equipment's own requirements
        self.category.write({"crowd_certificate_type_ids": [Command.set([])]})
        equipment.invalidate_recordset()
        self.assertEqual(equipment.crowd_required_skill_ids.skill_id, self.skill_lv)
        self.assertEqual(equipment.crowd_certificate_type_ids, self.cert_type_free)
        self.assertAlmostEqual(equipment.crowd_latitude, 46.7)
        # explicit values at creation win over the category
        own = self._equipment(crowd_certificate_type_ids=[Command.set([])])
        self.assertFalse(own.crowd_certificate_type_ids)
        # changing the category re-applies its defaults
        equipment.category_id = self.category_other
        self.assertFalse(equipment.crowd_required_skill_ids)
        self.assertEqual(equipment.crowd_certificate_type_ids, self.cert_type_free)

    def test_equipment_form_onchange(self):
        with Form(self.env["maintenance.equipment"]) as form:
            form.name = "Lift via form"
            form.category_id = self.category
            self.assertEqual(len(form.crowd_required_skill_ids), 2)
            form.crowd_site_id = self.site
            self.assertAlmostEqual(form.crowd_latitude, 46.758)
        equipment = form.record
        self.assertEqual(equipment.crowd_required_skill_ids.skill_id, self.skill_lv | self.skill_hyd)

    def test_equipment_to_request(self):
        equipment = self._equipment()
        equipment.crowd_latitude = 46.70
        request = self.env["maintenance.request"].create({"name": "Lift stuck", "equipment_id": equipment.id})
        self.assertEqual(request.crowd_site_id, self.site)
        self.assertAlmostEqual(request.crowd_latitude, 46.70)
        self.assertEqual(request.crowd_required_skill_ids.skill_id, self.skill_lv | self.skill_hyd)
        self.assertEqual(request.crowd_certificate_type_ids, self.cert_type)
        # request override kept, and later equipment edits do not rewrite open requests
        request.write({"crowd_certificate_type_ids": [Command.clear()], "crowd_longitude": 7.5})
        equipment.write({"crowd_certificate_type_ids": [Command.set(self.cert_type_free.ids)]})
        request.invalidate_recordset()
        self.assertFalse(request.crowd_certificate_type_ids)
        self.assertAlmostEqual(request.crowd_longitude, 7.5)
        self.assertEqual(len(equipment.crowd_required_skill_ids), 2)

    def test_invalid_positions(self):
        equipment = self._equipment()
        with self.assertRaises(ValidationError):
            equipment.write({"crowd_latitude": 95})
        equipment.invalidate_recordset()
        self.assertAlmostEqual(equipment.crowd_latitude, 46.758)
        request = self.env["maintenance.request"].create({"name": "R", "equipment_id": equipment.id})
        with self.assertRaises(ValidationError):
            request.write({"crowd_longitude": -181})
        request.invalidate_recordset()
        self.assertAlmostEqual(request.crowd_longitude, 7.628)

    def test_required_level_type(self):
        with self.assertRaises(ValidationError):
            self.category.write(
                {
                    "crowd_required_skill_ids": [
                        Command.create({"skill_id": self.skill_hyd.id, "min_level_id": self.elec_basic.id})
                    ]
                }
            )
        self.category.invalidate_recordset()
        self.assertEqual(len(self.category.crowd_required_skill_ids), 2)
        with self.assertRaises(ValidationError):
            self.env["crowd.required.skill"].create({"skill_id": self.skill_hyd.id})

    def test_sla_deadline(self):
        company = self.env.company
        company.write({"crowd_sla_minutes_0": 2880, "crowd_sla_minutes_2": 480, "crowd_sla_minutes_3": 60})
        Request = self.env["maintenance.request"]
        high = Request.create({"name": "Urgent", "priority": "3"})
        now = high.create_date
        self.assertEqual(high._crowd_sla_minutes(), 60)
        self.assertEqual(high.crowd_sla_deadline, now + timedelta(minutes=60))
        none = Request.create({"name": "Whenever"})
        self.assertEqual(none.crowd_sla_deadline, now + timedelta(minutes=2880))
        high.priority = "2"
        self.assertEqual(high.crowd_sla_deadline, now + timedelta(minutes=480))
        manual = datetime(2030, 3, 2, 9, 30)
        high.crowd_sla_deadline = manual
        high.name = "Urgent (edited)"
        self.assertEqual(high.crowd_sla_deadline, manual, "a manual deadline is kept")
        explicit = Request.create({"name": "Explicit", "priority": "3", "crowd_sla_deadline": manual})
        self.assertEqual(explicit.crowd_sla_deadline, manual)
