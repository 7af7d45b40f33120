"""The dispatcher's map: jobs, experts, the day's routes and coverage cells in one bounded payload.

``crowd.job.crowd_map_data(date)`` is the one method the map client action calls. It reads as the
caller (access rights and record rules apply: a dispatcher of company B sees nothing of company A),
refuses anyone who is not a crowd dispatcher, and bounds every list (``MAP_LIMIT``) saying when a
list was cut. Colours and the legend come from here, so the map and its tests share one definition.
"""

import math
import random
import statistics
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import html_sanitize

from crowd_dispatch.coverage import cell_bounds

from .crowd_job import CLOSED_STATES, JOB_STATES

MAP_LIMIT = 2000  # jobs and experts on the map, each
CELL_HISTORY_DAYS = 90  # coverage cells: jobs of the last 90 days
CELL_LINES_LIMIT = 20000  # coverage report lines read for the cells
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
DEFAULT_CELL_KM = 5.0
MIN_CELL_KM, MAX_CELL_KM = 0.5, 100.0
PARAM_TILE_URL = "crowd_service.map_tile_url"
PARAM_TILE_ATTRIBUTION = "crowd_service.map_tile_attribution"
PARAM_CELL_KM = "crowd_service.coverage_cell_km"

STATE_COLORS = {
    "new": "#6c757d",
    "dispatching": "#0dcaf0",
    "offered": "#6f42c1",
    "assigned": "#0d6efd",
    "en_route": "#fd7e14",
    "on_site": "#198754",
    "done": "#20c997",
    "escalated": "#dc3545",
    "cancelled": "#adb5bd",
}
# marker radius (px) by request priority: the more urgent, the bigger; urgent ones get a dark ring
PRIORITY_RADIUS = {"0": 6, "1": 7, "2": 9, "3": 12}
URGENT_PRIORITY = "3"
EXPERT_COLORS = {"online": "#198754", "offline": "#6c757d"}
# coverage cells: median time to door (min) thresholds and colours, good to bad
CELL_SCALE = ((30.0, "#1a9850"), (45.0, "#91cf60"), (60.0, "#fee08b"), (90.0, "#fc8d59"), (math.inf, "#d73027"))
# ... and by the share of urgent visits that missed 60 minutes (no urgent visit: grey)
MISS_SCALE = ((0.05, "#1a9850"), (0.1, "#91cf60"), (0.2, "#fee08b"), (0.35, "#fc8d59"), (math.inf, "#d73027"))
NO_DATA_COLOR = "#adb5bd"


def check_tile_url(env, url):
    """A tile URL template is http(s) and holds {z}, {x} and {y}."""
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")) or not all(key in url for key in ("{z}", "{x}", "{y}")):
        raise ValidationError(
            env._(
                "The map tile URL must start with http:// or https:// and contain {z}, {x} and {y}, "
                "for example %(example)s.",
                example=DEFAULT_TILE_URL,
            )
        )
    if any(char in url for char in "\"'<> \n\r\t"):
        raise ValidationError(env._("The map tile URL may not contain quotes, angle brackets or spaces."))
    return url


def check_cell_km(env, value):
    if value is None or not math.isfinite(value) or not MIN_CELL_KM <= value <= MAX_CELL_KM:
        raise ValidationError(
            env._(
                "The coverage cell size must be from %(low)s to %(high)s km.",
                low=MIN_CELL_KM,
                high=MAX_CELL_KM,
            )
        )
    return float(value)


def map_settings(env):
    """(tile url, tile attribution, cell km) from the system parameters; a bad stored value falls back to the
    default (a parameter can be edited by hand in Technical > System Parameters)."""
    params = env["ir.config_parameter"].sudo()  # sudo: the map's display settings, readable by every map user
    url = params.get_param(PARAM_TILE_URL) or DEFAULT_TILE_URL
    try:
        url = check_tile_url(env, url)
    except UserError:
        url = DEFAULT_TILE_URL
    attribution = html_sanitize(params.get_param(PARAM_TILE_ATTRIBUTION) or DEFAULT_TILE_ATTRIBUTION) or ""
    try:
        cell_km = check_cell_km(env, float(params.get_param(PARAM_CELL_KM) or DEFAULT_CELL_KM))
    except (TypeError, ValueError, UserError):
        cell_km = DEFAULT_CELL_KM
    return url, attribution, cell_km


def cell_color(value, scale=CELL_SCALE):
    """Colour of a cell's median time to door (or miss share, with MISS_SCALE); None: no data."""
    if value is None:
        return NO_DATA_COLOR
    for bound, color in scale:
        if value <= bound:
            return color
    return scale[-1][1]


class CrowdJob(models.Model):
    _inherit = "crowd.job"

    @api.model
    def crowd_map_data(self, date=None, layers=None):
        """Everything the dispatcher's map shows for ``date`` (the user's day, default today): open jobs and
        the jobs of that day, experts, the day's routes (when day routes are installed) and the coverage
        cells. Crowd dispatchers only; reads with the caller's rights; each list holds at most MAP_LIMIT
        items (``*_truncated`` says when a list was cut)."""
        self._crowd_check_dispatcher()
        self.check_access("read")
        day = self._crowd_map_day(date)
        layers = set(layers or ("jobs", "experts", "routes", "cells"))
        url, attribution, cell_km = map_settings(self.env)
        data = {
            "date": fields.Date.to_string(day),
            "tile": {"url": url, "attribution": attribution},
            "legend": self._crowd_map_legend(),
            "limit": MAP_LIMIT,
            "jobs": [],
            "jobs_truncated": False,
            "experts": [],
            "experts_truncated": False,
            "routes": [],
            "routes_available": "crowd.route" in self.env,
            "cells": {"cell_km": cell_km, "days": CELL_HISTORY_DAYS, "items": []},
        }
        if "jobs" in layers:
            data["jobs"], data["jobs_truncated"] = self._crowd_map_jobs(day)
        if "experts" in layers:
            data["experts"], data["experts_truncated"] = self._crowd_map_experts()
        if "routes" in layers and "crowd.route" in self.env:
            # the day routes' own method reads as the caller, with the caller's record rules
            data["routes"] = self.env["crowd.route"]._crowd_map_features(day)[:MAP_LIMIT]
        if "cells" in layers:
            data["cells"]["items"] = self._crowd_map_cells(day, cell_km)
        return data

    @api.model
    def _crowd_map_day(self, value):
        if not value:
            return fields.Date.context_today(self)
        try:
            return fields.Date.to_date(value)
        except (TypeError, ValueError):
            raise UserError(self.env._("The map's day must be a date (YYYY-MM-DD).")) from None

    @api.model
    def _crowd_map_day_bounds(self, day):
        """The user's day as naive UTC datetimes [start, end)."""
        tz = pytz.timezone(self.env.user.tz or self.env.context.get("tz") or "UTC")
        start = tz.localize(datetime.combine(day, time.min)).astimezone(pytz.UTC).replace(tzinfo=None)
        return start, start + timedelta(days=1)

    @api.model
    def _crowd_map_legend(self):
        states = dict(self._fields["state"]._description_selection(self.env))
        priorities = self._fields["priority"]._description_selection(self.env)
        return {
            "states": [{"key": key, "label": states[key], "color": STATE_COLORS[key]} for key, _label in JOB_STATES],
            "priorities": [
                {"key": key, "label": label, "radius": PRIORITY_RADIUS.get(key, 8), "urgent": key == URGENT_PRIORITY}
                for key, label in priorities
            ],
            "experts": [
                {"key": "online", "label": self.env._("Expert online"), "color": EXPERT_COLORS["online"]},
                {"key": "offline", "label": self.env._("Expert offline"), "color": EXPERT_COLORS["offline"]},
            ],
            "cells": [
                {
                    "color": color,
                    "label": self.env._("up to %(minutes)s min", minutes=int(bound))
                    if math.isfinite(bound)
                    else self.env._("more than %(minutes)s min", minutes=int(CELL_SCALE[-2][0])),
                }
                for bound, color in CELL_SCALE
            ],
            "cells_missed": [
                {
                    "color": color,
                    "label": self.env._("up to %(share)s%%", share=round(bound * 100))
                    if math.isfinite(bound)
                    else self.env._("more than %(share)s%%", share=round(MISS_SCALE[-2][0] * 100)),
                }
                for bound, color in MISS_SCALE
            ]
            + [{"color": NO_DATA_COLOR, "label": self.env._("no urgent visit")}],
        }

    @api.model
    def _crowd_map_jobs(self, day):
        start, end = self._crowd_map_day_bounds(day)
        domain = [
            "|",
            ("latitude", "!=", 0.0),
            ("longitude", "!=", 0.0),
            "|",
            ("state", "not in", CLOSED_STATES),
            "|",
            "&",
            ("done_at", ">=", start),
            ("done_at", "<", end),
            "&",
            ("cancelled_at", ">=", start),
            ("cancelled_at", "<", end),
        ]
        # plain search: the caller's record rules apply (other companies' jobs are not found)
        jobs = self.search(domain, limit=MAP_LIMIT + 1, order="priority desc nulls last, id desc")
        truncated = len(jobs) > MAP_LIMIT
        jobs = jobs[:MAP_LIMIT]
        states = dict(self._fields["state"]._description_selection(self.env))
        priorities = dict(self._fields["priority"]._description_selection(self.env))
        result = []
        for job in jobs:
            priority = job.priority or "0"
            result.append(
                {
                    "id": job.id,
                    "name": job.name,
                    "request": job.request_id.name or "",
                    "request_id": job.request_id.id,
                    "customer": job.customer_id.display_name or "",
                    "lat": job.latitude,
                    "lon": job.longitude,
                    "state": job.state,
                    "state_label": states.get(job.state, job.state),
                    "color": STATE_COLORS.get(job.state, "#6c757d"),
                    "priority": priority,
                    "priority_label": priorities.get(priority, priority),
                    "radius": PRIORITY_RADIUS.get(priority, 8),
                    "urgent": priority == URGENT_PRIORITY,
                    "expert": job.expert_id.display_name or "",
                    "sla_deadline": fields.Datetime.to_string(job.sla_deadline) if job.sla_deadline else False,
                    "eta": fields.Datetime.to_string(job.eta_at) if job.eta_at else False,
                }
            )
        return result, truncated

    @api.model
    def _crowd_map_experts(self):
        Partner = self.env["res.partner"]
        domain = [
            ("is_crowd_expert", "=", True),
            ("crowd_state", "=", "active"),
            "|",
            ("partner_latitude", "!=", 0.0),
            ("partner_longitude", "!=", 0.0),
        ]
        # plain search: the experts' multi-company rule applies
        experts = Partner.search(domain, limit=MAP_LIMIT + 1, order="crowd_online desc, id")
        truncated = len(experts) > MAP_LIMIT
        experts = experts[:MAP_LIMIT]
        kinds = dict(Partner._fields["crowd_kind"]._description_selection(self.env))
        tiers = dict(Partner._fields["crowd_tier"]._description_selection(self.env))
        return [
            {
                "id": partner.id,
                "name": partner.display_name,
                "lat": partner.partner_latitude,
                "lon": partner.partner_longitude,
                "online": partner.crowd_online,
                "color": EXPERT_COLORS["online" if partner.crowd_online else "offline"],
                "kind_label": kinds.get(partner.crowd_kind, ""),
                "tier_label": tiers.get(partner.crowd_tier, ""),
                "last_seen": fields.Datetime.to_string(partner.crowd_last_seen) if partner.crowd_last_seen else False,
            }
            for partner in experts
        ], truncated

    @api.model
    def _crowd_map_cells(self, day, cell_km):
        """Coverage cells of the last CELL_HISTORY_DAYS up to ``day``: median time to door, urgent jobs and
        the share of them that missed 60 minutes, from the coverage report (the caller's record rules)."""
        Report = self.env["crowd.coverage.report"]
        if not Report.has_access("read"):
            return []
        start = day - timedelta(days=CELL_HISTORY_DAYS)
        lines = Report.search_read(
            [("date", ">", start), ("date", "<=", day), ("cell_key", "!=", False)],
            ["cell_key", "time_to_door_min", "on_site_count", "urgent_count", "urgent_missed_count"],
            limit=CELL_LINES_LIMIT,
            order="date desc, id desc",
        )
        cells = {}
        for line in lines:
            cell = cells.setdefault(line["cell_key"], {"doors": [], "jobs": 0, "urgent": 0, "missed": 0})
            cell["jobs"] += 1
            if line["on_site_count"]:
                cell["doors"].append(line["time_to_door_min"])
            cell["urgent"] += line["urgent_count"]
            cell["missed"] += line["urgent_missed_count"]
        result = []
        for key in sorted(cells):
            cell = cells[key]
            median = round(statistics.median(cell["doors"]), 1) if cell["doors"] else None
            (south, west), (north, east) = cell_bounds(key, cell_km)
            miss_share = round(cell["missed"] / cell["urgent"], 3) if cell["urgent"] else None
            result.append(
                {
                    "key": key,
                    "bounds": [[south, west], [north, east]],
                    "jobs": cell["jobs"],
                    "on_site": len(cell["doors"]),
                    "median_min": median,
                    "urgent": cell["urgent"],
                    "missed": cell["missed"],
                    "miss_share": miss_share,
                    "color": cell_color(median),
                    "miss_color": cell_color(miss_share, MISS_SCALE),
                }
            )
        return result

    # ------------------------------------------------------------------ demo
    @api.model
    def _crowd_demo_history(self, days=28, seed=7):
        """Demo data: four weeks of done visits around the demo region, so that the coverage analysis, the
        map's coverage layer and the recruiting suggestions have a history to show. Visits near Thun and
        Interlaken, and the imaging ones, take long (few experts there); the rest are quick. Called once by
        the demo data (a system method: private)."""
        rng = random.Random(seed)
        env = self.env(su=True)
        Skill = env["crowd.skill"]
        skills = [
            env.ref(f"crowd_service.demo_skill_{name}", raise_if_not_found=False) or Skill
            for name in ("mech_lift", "mech_hvac", "elec_ctrl", "it_net", "med_img")
        ]
        skills = [skill for skill in skills if skill]
        experts = env["res.partner"].search(
            [("is_crowd_expert", "=", True), ("user_ids", "=", False), ("partner_latitude", "!=", 0.0)]
        )
        if not skills or not experts:
            return False
        areas = [
            # (centre, radius km, weight, door minutes range)
            ((46.948, 7.447), 8.0, 5, (12, 45)),  # Bern
            ((47.136, 7.247), 6.0, 2, (20, 55)),  # Biel
            ((46.758, 7.628), 6.0, 2, (45, 110)),  # Thun: few experts
            ((46.686, 7.863), 5.0, 1, (70, 150)),  # Interlaken: fewer still
        ]
        now = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
        jobs = env["crowd.job"]
        for day in range(days, 0, -1):
            for _index in range(rng.randint(4, 7)):
                (lat0, lon0), radius, _weight, (low, high) = rng.choices(areas, weights=[a[2] for a in areas])[0]
                r, angle = radius * math.sqrt(rng.random()), rng.random() * 2 * math.pi
                lat = lat0 + r * math.cos(angle) / 111.32
                lon = lon0 + r * math.sin(angle) / (111.32 * math.cos(math.radians(lat0)))
                skill = rng.choice(skills)
                priority = rng.choice(["3", "3", "2", "1"])
                door = rng.uniform(low, high) * (1.4 if skill.code == "MED_IMG" else 1.0)
                requested = now - timedelta(days=day) + timedelta(minutes=rng.randint(7 * 60, 17 * 60))
                expert = experts.sorted(
                    lambda p, la=lat, lo=lon: (p.partner_latitude - la) ** 2 + ((p.partner_longitude - lo) * 0.68) ** 2
                )[:3][rng.randint(0, 2) if len(experts) > 2 else 0]
                request = env["maintenance.request"].create(
                    {
                        "name": env._("%(skill)s visit (history)", skill=skill.name),
                        "priority": priority,
                        "maintenance_type": "corrective",
                        "stage_id": env.ref("maintenance.stage_3").id,
                    }
                )
                on_site = requested + timedelta(minutes=door)
                job = env["crowd.job"].create(
                    {
                        "request_id": request.id,
                        "latitude": lat,
                        "longitude": lon,
                        "state": "done",
                        "requested_at": requested,
                        "dispatched_at": requested,
                        "assigned_at": requested + timedelta(minutes=min(door / 3, 10)),
                        "en_route_at": requested + timedelta(minutes=min(door / 3, 10)),
                        "on_site_at": on_site,
                        "done_at": on_site + timedelta(minutes=rng.randint(30, 90)),
                        "expert_id": expert.id,
                        "sla_deadline": requested + timedelta(minutes=60 if priority == "3" else 480),
                        "resolution": env._("Fixed on site."),
                    }
                )
                env["crowd.required.skill"].create({"job_id": job.id, "skill_id": skill.id})
                jobs |= job
        # today's visits on the map: stable states only (nothing for the dispatch crons to act on)
        for index, state in enumerate(("assigned", "en_route", "on_site", "new", "escalated", "assigned", "on_site")):
            (lat0, lon0), radius, _weight, _door = areas[index % 3]
            r, angle = radius * math.sqrt(rng.random()), rng.random() * 2 * math.pi
            lat = lat0 + r * math.cos(angle) / 111.32
            lon = lon0 + r * math.sin(angle) / (111.32 * math.cos(math.radians(lat0)))
            skill = skills[index % len(skills)]
            priority = ("3", "2", "3", "1", "3", "2", "0")[index]
            requested = now - timedelta(minutes=20 + 15 * index)
            request = env["maintenance.request"].create(
                {
                    "name": env._("%(skill)s visit (today)", skill=skill.name),
                    "priority": priority,
                    "maintenance_type": "corrective",
                }
            )
            vals = {
                "request_id": request.id,
                "latitude": lat,
                "longitude": lon,
                "state": state,
                "requested_at": requested,
                "sla_deadline": requested + timedelta(minutes=60 if priority == "3" else 480),
            }
            if state in ("assigned", "en_route", "on_site"):
                vals.update(expert_id=experts[index % len(experts)].id, assigned_at=requested + timedelta(minutes=5))
            if state in ("en_route", "on_site"):
                vals.update(en_route_at=requested + timedelta(minutes=6), eta_at=requested + timedelta(minutes=35))
            if state == "on_site":
                vals["on_site_at"] = requested + timedelta(minutes=33)
            if state == "escalated":
                vals.update(
                    escalated_at=requested + timedelta(minutes=30), escalation_reason=env._("No expert accepted.")
                )
            job = env["crowd.job"].create(vals)
            env["crowd.required.skill"].create({"job_id": job.id, "skill_id": skill.id})
            jobs |= job
        return jobs.ids
