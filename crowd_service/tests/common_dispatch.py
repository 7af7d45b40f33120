import math
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from unittest.mock import patch

from odoo.tests import TransactionCase, new_test_user

# Site of the demo region: Zurich main station.
SITE = (47.3779, 8.5403)
T0 = datetime(2026, 3, 2, 9, 0, 0)


def offset(lat_km=0.0, lon_km=0.0, base=SITE):
    """A position ``lat_km`` north and ``lon_km`` east of ``base`` (small distances)."""
    lat = base[0] + lat_km / 111.32
    lon = base[1] + lon_km / (111.32 * math.cos(math.radians(base[0])))
    return lat, lon


class CrowdDispatchCase(TransactionCase):
    """Experts around one site, a rule, and a controllable dispatch clock (``self.now``)."""

    LEVERS_OFF = {
        "lookahead": False,
        "stagger": False,
        "defer": False,
        "sla_widening": False,
        "one_open_offer_per_expert": False,
        "divert": False,
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        cls.company = cls.env.company
        cls.now = T0
        Job = cls.env.registry["crowd.job"]
        cls._clock_patch = patch.object(Job, "_crowd_now", lambda self: cls.now)
        cls._clock_patch.start()
        cls.addClassCleanup(cls._clock_patch.stop)
        # a clean slate: only this class' rules and experts take part
        cls.env["crowd.dispatch.rule"].search([]).active = False
        if "crowd.pay.rule" in cls.env:  # the payout addon's demo pay rules (night, urgency) out of the way too
            cls.env["crowd.pay.rule"].search([]).active = False
        cls.env["res.partner"].search([("is_crowd_expert", "=", True)]).write({"crowd_online": False})
        # the demo's open jobs are out of the way (the dispatch cron would decide them at the test's clock)
        cls.env["crowd.job"].search([("state", "not in", ("done", "cancelled"))]).sudo().write(
            {"state": "cancelled", "next_check_at": False, "wait_code": False, "waiting_expert_id": False}
        )

        cls.category = cls.env["maintenance.equipment.category"].create({"name": "Lifts (test)"})
        cls.other_category = cls.env["maintenance.equipment.category"].create({"name": "Pumps (test)"})
        cls.equipment = cls.env["maintenance.equipment"].create({"name": "Lift 7", "category_id": cls.category.id})
        cls.customer = cls.env["res.partner"].create({"name": "Acme Towers", "is_company": True})
        cls.site = cls.env["res.partner"].create(
            {
                "name": "Acme Towers, Block A",
                "parent_id": cls.customer.id,
                "type": "other",
                "partner_latitude": SITE[0],
                "partner_longitude": SITE[1],
            }
        )
        cls.skill_type = cls.env["crowd.skill.type"].create({"name": "Lifts (test)"})
        cls.skill = cls.env["crowd.skill"].create(
            {"name": "Lift electrics", "code": "T_LIFT_EL", "skill_type_id": cls.skill_type.id}
        )
        levels = cls.env["crowd.skill.level"]
        cls.level_basic = levels.create({"name": "Basic", "level_progress": 30, "skill_type_id": cls.skill_type.id})
        cls.level_expert = levels.create({"name": "Expert", "level_progress": 90, "skill_type_id": cls.skill_type.id})
        cls.cert_type = cls.env["crowd.certificate.type"].create({"name": "Lift safety", "code": "T_LIFT_SAFE"})
        cls.rule = cls.env["crowd.dispatch.rule"].create(
            {
                "name": "Lifts",
                "sequence": 1,
                "category_ids": [(6, 0, cls.category.ids)],
                "use_own": True,
                "own_delay_min": 0,
                "use_partner": True,
                "partner_delay_min": 0,
                "use_crowd": True,
                "crowd_delay_min": 0,
                "tier_policy": "any",
                "strategy": "broadcast",
                "top_n": 2,
                "offer_timeout_min": 5,
                "max_rounds": 2,
                "max_radius_km": 50,
                "auto_dispatch": True,
                # the offer rounds alone: the policy levers are tested one by one in test_dispatch_policy
                **cls.LEVERS_OFF,
            }
        )
        cls.partner_company = cls.env["res.partner"].create({"name": "LiftPartners AG (test)", "is_company": True})
        cls.dispatcher = new_test_user(
            cls.env, login="crowd_dispatcher_t", groups="base.group_user,crowd_service.group_crowd_user"
        )

    @classmethod
    def make_expert(
        cls,
        name,
        km=1.0,
        kind="freelance",
        tier="technician",
        level=None,
        cert_until=None,
        cert_state="verified",
        **vals,
    ):
        lat, lon = offset(lat_km=km)
        if kind == "partner":
            vals.setdefault("crowd_company_partner_id", cls.partner_company.id)
        partner = cls.env["res.partner"].create(
            dict(
                {
                    "name": name,
                    "email": f"{name.lower().replace(' ', '.')}@example.com",
                    "is_crowd_expert": True,
                    "crowd_kind": kind,
                    "crowd_tier": tier,
                    "crowd_state": "active",
                    "crowd_online": True,
                    "partner_latitude": lat,
                    "partner_longitude": lon,
                    "crowd_radius_km": 60,
                    "crowd_max_jobs": 2,
                    "crowd_rating": 4.5,
                },
                **vals,
            )
        )
        if level is not None:
            cls.env["crowd.expert.skill"].create(
                {"partner_id": partner.id, "skill_id": cls.skill.id, "level_id": level.id}
            )
        if cert_until is not None:
            cls.env["crowd.expert.certificate"].create(
                {
                    "partner_id": partner.id,
                    "type_id": cls.cert_type.id,
                    "issue_date": date(2020, 1, 1),
                    "expiry_date": cert_until,
                    "state": cert_state,
                }
            )
        return partner

    def make_request(self, name="Lift stuck", priority="3", equipment=None, **vals):
        values = {
            "name": name,
            "priority": priority,
            "equipment_id": (equipment or self.equipment).id,
            "crowd_site_id": self.site.id,
            "crowd_latitude": SITE[0],
            "crowd_longitude": SITE[1],
        }
        values.update(vals)
        return self.env["maintenance.request"].create(values)

    def make_job(self, name="Lift stuck", priority="3", equipment=None, **vals):
        """A request of the test site and its first visit (the job), dispatched by the rule."""
        request = self.make_request(name=name, priority=priority, equipment=equipment, **vals)
        self.assertEqual(len(request.crowd_job_ids), 1, "a request with a site position gets its first visit")
        return request.crowd_job_ids

    @contextmanager
    def at(self, minutes):
        """Move the dispatch clock to T0 + ``minutes`` inside the block."""
        previous = type(self).now
        type(self).now = T0 + timedelta(minutes=minutes)
        try:
            yield type(self).now
        finally:
            type(self).now = previous

    def set_clock(self, minutes):
        type(self).now = T0 + timedelta(minutes=minutes)
        self.addCleanup(setattr, type(self), "now", T0)

    def run_cron(self):
        return self.env["crowd.job"]._cron_crowd_dispatch()
