"""Browser tour: the dispatch map draws jobs, experts and coverage cells, and opens the coverage pivot."""

from datetime import timedelta

from odoo import fields
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
