"""Browser tours: the dispatch map draws jobs, experts and coverage cells, and opens the coverage pivot; a
planned day's routes in the route views and on the map."""

from datetime import datetime, time, timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, tagged

SITE = (46.9480, 7.4474)


@tagged("post_install", "-at_install")
class TestCrowdMapTour(HttpCase):
    def test_map_tour(self):
        env = self.env
        env["crowd.dispatch.rule"].search([]).active = False
        now = fields.Datetime.now()
        for name, state, vals in (
            ("Tour offered job", "offered", {}),
            (
                "Tour done job",
                "done",
                {"requested_at": now - timedelta(hours=2), "on_site_at": now - timedelta(hours=1)},
            ),
        ):
            request = env["maintenance.request"].create(
                {"name": name, "priority": "3", "crowd_latitude": SITE[0], "crowd_longitude": SITE[1]}
            )
            request.crowd_job_ids.sudo().write(dict({"state": state}, **vals))
        env["res.partner"].create(
            {
                "name": "Tour expert",
                "is_crowd_expert": True,
                "crowd_state": "active",
                "crowd_online": True,
                "partner_latitude": SITE[0] + 0.01,
                "partner_longitude": SITE[1],
            }
        )
        self.start_tour("/web#action=crowd_service.action_crowd_map", "crowd_service_map_tour", login="admin")


@tagged("post_install", "-at_install")
class TestCrowdRouteMapTour(HttpCase):
    """Plan a day with the dispatcher's Plan day, then open the day routes (list, a route's stops) and, from the
    route, the map of that day: route polylines, numbered stop markers, a stop's ETA in the popup."""

    def test_route_map_tour(self):
        env = self.env
        admin = env.ref("base.user_admin")
        company = admin.company_id
        env["ir.config_parameter"].sudo().set_param("crowd_service.plan_time_limit_s", "1")
        env["crowd.dispatch.rule"].search([]).active = False
        env["crowd.dispatch.rule"].create(
            {"name": "Route tour rule", "sequence": -1000, "company_id": company.id, "auto_dispatch": False,
             "max_radius_km": 100, "tier_policy": "any", "certificate_policy": "required"}
        )  # fmt: skip
        calendar = env["resource.calendar"].create(
            {
                "name": "Route tour 08-17",
                "tz": "UTC",
                "company_id": company.id,
                "attendance_ids": [Command.clear()]
                + [
                    Command.create(
                        {"name": "Day", "dayofweek": str(d), "hour_from": 8, "hour_to": 17, "day_period": "morning"}
                    )
                    for d in range(7)
                ],
            }
        )
        skill_type = env["crowd.skill.type"].create({"name": "Route tour lifts"})
        level = env["crowd.skill.level"].create(
            {"name": "Route tour basic", "level_progress": 50, "skill_type_id": skill_type.id}
        )
        team = env["maintenance.team"].create({"name": "Route tour team", "company_id": company.id})
        customer = env["res.partner"].create({"name": "Route Tour Customer", "is_company": True, "tz": "UTC"})
        site = env["res.partner"].create({"name": "Route tour site", "parent_id": customer.id, "type": "other"})
        day = env["crowd.route"]._crowd_today(company) + timedelta(days=7)
        techs = env["res.partner"]
        for k, name in enumerate(("Tour Tech Anna", "Tour Tech Ben")):
            # a skill only this technician has, so the planner gives them exactly their visits
            skill = env["crowd.skill"].create(
                {"name": f"Route tour skill {k}", "code": f"ROUTE_TOUR_{k}", "skill_type_id": skill_type.id}
            )
            tech = env["res.partner"].create(
                {"name": name, "is_crowd_expert": True, "crowd_kind": "employee", "crowd_tier": "technician",
                 "crowd_state": "active", "crowd_company_id": company.id, "crowd_calendar_id": calendar.id,
                 "partner_latitude": SITE[0], "partner_longitude": SITE[1] + 0.05 * k, "crowd_radius_km": 80,
                 "crowd_max_jobs": 20, "crowd_rating": 4.0}
            )  # fmt: skip
            env["crowd.expert.skill"].create({"partner_id": tech.id, "skill_id": skill.id, "level_id": level.id})
            techs |= tech
            for i in range(3):
                env["maintenance.request"].create(
                    {"name": f"Route tour visit {k}-{i}", "company_id": company.id, "maintenance_team_id": team.id,
                     "maintenance_type": "preventive", "priority": "1", "crowd_site_id": site.id,
                     "crowd_latitude": SITE[0] + 0.01 * (i + 1), "crowd_longitude": SITE[1] + 0.05 * k + 0.01 * i,
                     "schedule_date": datetime.combine(day, time(9)), "duration": 0.5,
                     "crowd_required_skill_ids": [Command.create({"skill_id": skill.id, "min_level_id": level.id})]}
                )  # fmt: skip
        result = env["crowd.route"].with_user(admin).action_plan_day(fields.Date.to_string(day))
        routes = env["crowd.route"].browse(result["routes"]).filtered(lambda r: r.technician_id in techs)
        self.assertEqual(sorted(routes.mapped("stop_count")), [3, 3], "each technician gets their three visits")
        # the map gets both routes with their stops; ETAs are ISO-8601 with their offset
        features = env["crowd.route"].with_user(admin)._crowd_map_features(day)
        ours = [f for f in features if f["partner_id"] in techs.ids]
        self.assertEqual(len(ours), 2)
        for feature in ours:
            self.assertEqual(len(feature["stops"]), 3)
            self.assertEqual(len(feature["path"]), 5)
            for stop in feature["stops"]:
                eta = datetime.fromisoformat(stop["eta"])
                self.assertEqual(eta.utcoffset(), timedelta(0))
                self.assertEqual(eta.date(), day)
        self.start_tour("/web#action=crowd_service.action_crowd_route", "crowd_service_route_map_tour", login="admin")
