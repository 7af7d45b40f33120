from odoo.tests import TransactionCase


class CrowdCase(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.type_elec = cls.env["crowd.skill.type"].create({"name": "Electrical (test)"})
        cls.type_mech = cls.env["crowd.skill.type"].create({"name": "Mechanical (test)"})
        Level = cls.env["crowd.skill.level"]
        cls.elec_basic = Level.create({"name": "Basic", "level_progress": 30, "skill_type_id": cls.type_elec.id})
        cls.elec_expert = Level.create({"name": "Expert", "level_progress": 90, "skill_type_id": cls.type_elec.id})
        cls.mech_basic = Level.create({"name": "Basic", "level_progress": 40, "skill_type_id": cls.type_mech.id})
        Skill = cls.env["crowd.skill"]
        cls.skill_lv = Skill.create({"name": "Low voltage", "code": "T_LV", "skill_type_id": cls.type_elec.id})
        cls.skill_hyd = Skill.create({"name": "Hydraulics", "code": "T_HYD", "skill_type_id": cls.type_mech.id})
        cls.cert_type = cls.env["crowd.certificate.type"].create(
            {
                "name": "Electrical safety (test)",
                "code": "T_ELSAFE",
                "validity_months": 24,
                "document_required": True,
                "reminder_days": 30,
            }
        )
        cls.cert_type_free = cls.env["crowd.certificate.type"].create(
            {"name": "First aid (test)", "code": "T_AID", "reminder_days": 30}
        )
        cls.expert = cls.env["res.partner"].create(
            {
                "name": "Anna Expert",
                "is_crowd_expert": True,
                "crowd_kind": "freelance",
                "crowd_tier": "technician",
                "partner_latitude": 46.948,
                "partner_longitude": 7.4474,
            }
        )
