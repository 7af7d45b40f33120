from odoo import fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..models.crowd_job import JOB_STATES
from ..models.crowd_vocabulary import CROWD_POOLS, priority_selection


class CrowdDispatchReport(models.Model):
    """One line per dispatched job (visit): how fast someone was at the door, by day, category and pool."""

    _name = "crowd.dispatch.report"
    _description = "Crowd Dispatch Analysis"
    _auto = False
    _order = "date desc, id"
    _rec_name = "job_id"

    job_id = fields.Many2one("crowd.job", string="Job", readonly=True)
    request_id = fields.Many2one("maintenance.request", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Date("Day", readonly=True)
    category_id = fields.Many2one("maintenance.equipment.category", readonly=True)
    priority = fields.Selection(selection=lambda self: priority_selection(self.env), readonly=True)
    expert_pool = fields.Selection(CROWD_POOLS, readonly=True)
    expert_id = fields.Many2one("res.partner", string="Expert", readonly=True)
    dispatch_state = fields.Selection(
        JOB_STATES,
        readonly=True,
    )
    request_count = fields.Integer("Jobs", readonly=True, aggregator="sum")
    on_site_count = fields.Integer("On Site", readonly=True, aggregator="sum")
    within_60_count = fields.Integer("On Site ≤ 60 min", readonly=True, aggregator="sum")
    within_60_share = fields.Float("Share On Site ≤ 60 min (%)", readonly=True, aggregator="avg", digits=(5, 1))
    sla_met_share = fields.Float("SLA Met (%)", readonly=True, aggregator="avg", digits=(5, 1))
    time_to_door_min = fields.Float("Time to Door (min)", readonly=True, aggregator="avg", digits=(10, 1))
    offer_count = fields.Integer("Offers", readonly=True, aggregator="sum")

    def init(self):
        # a public name, so callable over RPC: only the registry (as superuser) may drop and rebuild the view
        if not self.env.su:
            raise AccessError(self.env._("Schema hooks run at install and update only."))
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %s AS (
                SELECT j.id AS id,
                       j.id AS job_id,
                       j.request_id,
                       j.company_id,
                       COALESCE(j.requested_at, j.create_date)::date AS date,
                       r.category_id,
                       j.priority,
                       CASE p.crowd_kind WHEN 'employee' THEN 'own' WHEN 'partner' THEN 'partner'
                                         WHEN 'freelance' THEN 'crowd' END AS expert_pool,
                       j.expert_id,
                       j.state AS dispatch_state,
                       1 AS request_count,
                       CASE WHEN j.on_site_at IS NOT NULL THEN 1 ELSE 0 END AS on_site_count,
                       CASE WHEN j.on_site_at IS NOT NULL AND j.time_to_door_min <= 60
                            THEN 1 ELSE 0 END AS within_60_count,
                       CASE WHEN j.on_site_at IS NOT NULL AND j.time_to_door_min <= 60
                            THEN 100.0 ELSE 0.0 END AS within_60_share,
                       CASE WHEN j.sla_met THEN 100.0 ELSE 0.0 END AS sla_met_share,
                       CASE WHEN j.on_site_at IS NOT NULL THEN j.time_to_door_min END AS time_to_door_min,
                       (SELECT count(*) FROM crowd_dispatch_offer o WHERE o.job_id = j.id) AS offer_count
                  FROM crowd_job j
                  JOIN maintenance_request r ON r.id = j.request_id
             LEFT JOIN res_partner p ON p.id = j.expert_id
                 WHERE j.state != 'new'
                )""",
                SQL.identifier(self._table),
            )
        )
