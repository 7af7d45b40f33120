from odoo.tests import new_test_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


class CrowdJoinCommon:
    """Reference data and helpers of the join tests (mixed into TransactionCase and HttpCase)."""

    @classmethod
    def _setup_join(cls):
        env = cls.env
        cls.skill_type = env["crowd.skill.type"].create({"name": "Join electrics"})
        cls.level_basic = env["crowd.skill.level"].create(
            {"name": "Join basic", "level_progress": 30, "skill_type_id": cls.skill_type.id}
        )
        cls.level_expert = env["crowd.skill.level"].create(
            {"name": "Join expert", "level_progress": 90, "skill_type_id": cls.skill_type.id}
        )
        cls.skill = env["crowd.skill"].create(
            {"name": "Join tour skill", "code": "JOIN_WIRING", "skill_type_id": cls.skill_type.id}
        )
        other_type = env["crowd.skill.type"].create({"name": "Join hydraulics"})
        cls.other_level = env["crowd.skill.level"].create(
            {"name": "Join other level", "level_progress": 50, "skill_type_id": other_type.id}
        )
        cls.cert_type = env["crowd.certificate.type"].create(
            {"name": "Join safety pass", "code": "JOIN_SAFE", "document_required": True}
        )
        cls.dispatcher = new_test_user(env, login="join_dispatcher", groups="crowd_service.group_crowd_user")
        cls.employee = new_test_user(env, login="join_employee", groups="base.group_user")
        # the limit is high for the tests that are not about it
        env["ir.config_parameter"].sudo().set_param("crowd_service_portal.join_rate_limit", 1000)

    def _values(self, **overrides):
        values = {
            "name": "Lena Frei",
            "email": "lena.frei@example.com",
            "phone": "+41 79 555 01 02",
            "city": "Bern",
            "latitude": "46.948",
            "longitude": "7.4474",
            "radius_km": "40",
            "skills": [(self.skill.id, self.level_expert.id)],
            "certificates": [
                {
                    "type_id": self.cert_type.id,
                    "number": "SAFE-42",
                    "expiry_date": "2099-12-31",
                    "filename": "pass.png",
                    "content": PNG,
                }
            ],
        }
        values.update(overrides)
        return values

    def _mails(self, partner, subject):
        return (
            self.env["mail.mail"].sudo().search([("recipient_ids", "in", partner.ids), ("subject", "ilike", subject)])
        )
