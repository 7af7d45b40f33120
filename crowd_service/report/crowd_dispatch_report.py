from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.maintenance_request_dispatch import DISPATCH_STATES


class CrowdDispatchReport(models.Model):
    """One line per dispatched request: how fast someone was at the door, by day, category and pool."""

    _name = "crowd.dispatch.report"
    _description = "Crowd Dispatch Analysis"
    _auto = False
    _order = "date desc, id"
    _rec_name = "request_id"

    request_id = fields.Many2one("maintenance.request", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Date("Day", readonly=True)
    category_id = fields.Many2one("maintenance.equipment.category", readonly=True)
    priority = fields.Selection([("0", "Very Low"), ("1", "Low"), ("2", "Normal"), ("3", "High")], readonly=True)
    expert_pool = fields.Selection([("own", "Own"), ("partner", "Partner"), ("crowd", "Crowd")], readonly=True)
    expert_id = fields.Many2one("res.partner", string="Expert", readonly=True)
    dispatch_state = fields.Selection(
        DISPATCH_STATES,
        readonly=True,
    )
    request_count = fields.Integer("Requests", readonly=True, aggregator="sum")
    on_site_count = fields.Integer("On Site", readonly=True, aggregator="sum")
    within_60_count = fields.Integer("On Site ≤ 60 min", readonly=True, aggregator="sum")
    within_60_share = fields.Float("Share On Site ≤ 60 min (%)", readonly=True, aggregator="avg", digits=(5, 1))
    sla_met_share = fields.Float("SLA Met (%)", readonly=True, aggregator="avg", digits=(5, 1))
    time_to_door_min = fields.Float("Time to Door (min)", readonly=True, aggregator="avg", digits=(10, 1))
    offer_count = fields.Integer("Offers", readonly=True, aggregator="sum")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %s AS (
                SELECT r.id AS id,
                       r.id AS request_id,
                       r.company_id,
                       COALESCE(r.crowd_requested_at, r.create_date)::date AS date,
                       r.category_id,
                       r.priority,
                       CASE p.crowd_kind WHEN 'employee' THEN 'own' WHEN 'partner' THEN 'partner'
                                         WHEN 'freelance' THEN 'crowd' END AS expert_pool,
                       r.crowd_expert_id AS expert_id,
                       r.crowd_dispatch_state AS dispatch_state,
                       1 AS request_count,
                       CASE WHEN r.crowd_on_site_at IS NOT NULL THEN 1 ELSE 0 END AS on_site_count,
                       CASE WHEN r.crowd_on_site_at IS NOT NULL AND r.crowd_time_to_door_min <= 60
                            THEN 1 ELSE 0 END AS within_60_count,
                       CASE WHEN r.crowd_on_site_at IS NOT NULL AND r.crowd_time_to_door_min <= 60
                            THEN 100.0 ELSE 0.0 END AS within_60_share,
                       CASE WHEN r.crowd_sla_met THEN 100.0 ELSE 0.0 END AS sla_met_share,
                       CASE WHEN r.crowd_on_site_at IS NOT NULL THEN r.crowd_time_to_door_min END
                            AS time_to_door_min,
                       (SELECT count(*) FROM crowd_dispatch_offer o WHERE o.request_id = r.id) AS offer_count
                  FROM maintenance_request r
             LEFT JOIN res_partner p ON p.id = r.crowd_expert_id
                 WHERE r.crowd_dispatch_state != 'new' OR r.crowd_requested_at IS NOT NULL
                )""",
                SQL.identifier(self._table),
            )
        )
