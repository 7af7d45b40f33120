"""Live tracking and the installable, offline-tolerant expert app.

- The expert's phone sends its position (``/my/crowd/position``, ``/my/jobs/<id>/position``) with the
  expert's consent (``/my/crowd/location_consent``); the model checks who, the consent, the state, the
  bounds and the rate.
- The app: a web app manifest and a service worker scoped to ``/my/`` (it only keeps the expert's pages
  and the assets they need; see ``static/src/sw/crowd_sw.js``), and an offline page.
- Visit actions made offline are replayed once each (``/my/crowd/replay``, idempotency key per action).

Each route finds its record, checks access (404 for a foreign or unknown id) and makes ONE model call.
"""

import json

from werkzeug.exceptions import NotFound

from odoo import fields, http
from odoo.http import request
from odoo.tools import file_open

from .portal import CrowdServicePortal

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
APP_SCOPE = "/my/"


class CrowdLivePortal(CrowdServicePortal):
    # ------------------------------------------------------------------ live position
    @http.route(["/my/crowd/position"], type="json", auth="user", methods=["POST"])
    def portal_crowd_position(self, latitude=None, longitude=None, **kw):
        partner = request.env.user.partner_id
        result, error = self._crowd_call(partner.crowd_report_position, latitude, longitude)
        return {"error": error} if error else result

    @http.route(["/my/jobs/<int:job_id>/position"], type="json", auth="user", methods=["POST"])
    def portal_crowd_job_position(self, job_id, latitude=None, longitude=None, **kw):
        job = self._crowd_as_user(self._crowd_check("crowd.job", job_id))
        result, error = self._crowd_call(job.action_report_position, latitude, longitude)
        return {"error": error} if error else result

    @http.route(["/my/crowd/location_consent"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_location_consent(self, consent=None, **kw):
        partner = request.env.user.partner_id
        _result, error = self._crowd_call(partner.crowd_set_location_consent, consent == "1")
        if error:
            return self._crowd_profile_page(error=error)
        return request.redirect("/my/crowd/profile")

    # ------------------------------------------------------------------ offline replay
    @http.route(["/my/crowd/replay"], type="json", auth="user", methods=["POST"])
    def portal_crowd_replay(self, job_id=None, key=None, action=None, values=None, seen_state=None,
                            seen_version=None, queued_at=None, photos=None, **kw):  # fmt: skip
        job_id = self._crowd_int(job_id)
        if not isinstance(job_id, int):
            raise NotFound()
        job = self._crowd_as_user(self._crowd_check("crowd.job", job_id))
        result, error = self._crowd_call(
            job.action_replay_offline, key, action, values, seen_state, seen_version, queued_at, photos=photos
        )
        return {"result": "refused", "message": error, "duplicate": False} if error else result

    # ------------------------------------------------------------------ the app
    @http.route(["/my/crowd/manifest.webmanifest"], type="http", auth="public", methods=["GET"])
    def portal_crowd_manifest(self, **kw):
        env = request.env
        manifest = {
            "name": env._("Crowd Service"),
            "short_name": env._("Crowd"),
            "description": env._("Your offers and jobs, also without a connection."),
            "start_url": "/my/jobs",
            "scope": APP_SCOPE,
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#714B67",
            "icons": [
                {"src": "/crowd_service_portal/static/src/img/app-192.png", "sizes": "192x192", "type": "image/png"},
                {"src": "/crowd_service_portal/static/src/img/app-512.png", "sizes": "512x512", "type": "image/png"},
                {
                    "src": "/crowd_service_portal/static/src/img/app-512.png",
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        }
        return request.make_response(
            json.dumps(manifest),
            headers=[("Content-Type", "application/manifest+json"), ("Cache-Control", "no-cache")],
        )

    @http.route(["/my/crowd/sw.js"], type="http", auth="public", methods=["GET"])
    def portal_crowd_service_worker(self, **kw):
        with file_open("crowd_service_portal/static/src/sw/crowd_sw.js") as script:
            body = script.read()
        return request.make_response(
            body,
            headers=[
                ("Content-Type", "text/javascript; charset=utf-8"),
                # the worker lives under /my/crowd/ but serves the expert's pages under /my/
                ("Service-Worker-Allowed", APP_SCOPE),
                ("Cache-Control", "no-cache"),
            ],
        )

    @http.route(["/my/crowd/offline"], type="http", auth="public", website=True)
    def portal_crowd_offline(self, **kw):
        return request.render("crowd_service_portal.portal_crowd_offline", {"page_name": "crowd_offline"})

    # ------------------------------------------------------------------ tracking page values
    def _crowd_service_page(self, job_id, access_token=None, error=None):
        response = super()._crowd_service_page(job_id, access_token=access_token, error=error)
        job = response.qcontext.get("job") if hasattr(response, "qcontext") else None
        if job:
            response.qcontext.update(self._crowd_tracking_values(job, access_token))
        return response

    def _crowd_tracking_values(self, job_sudo, access_token=None):
        """The live block of the tracking page: bus channel, ETA, positions, map tiles."""
        channel = f"crowd.job.tracking:{job_sudo.id}"
        if access_token:
            channel += f":{access_token}"
        payload = job_sudo._crowd_tracking_payload()
        site = None
        if job_sudo.latitude or job_sudo.longitude:
            site = {"lat": job_sudo.latitude, "lon": job_sudo.longitude}
        # sudo: a system setting (the map tile server) read for the page
        tile_url = request.env["ir.config_parameter"].sudo().get_param("crowd_service.map_tile_url") or DEFAULT_TILE_URL
        eta_at = job_sudo.live_eta_at or job_sudo.eta_at
        eta_min = max(0, round((eta_at - fields.Datetime.now()).total_seconds() / 60)) if eta_at else None
        return {
            "tracking_eta_min": eta_min,
            "tracking_channel": channel,
            "tracking_payload": payload,
            "tracking_site": site,
            "tracking_tile_url": tile_url,
            "tracking_json": json.dumps({"channel": channel, "payload": payload, "site": site, "tiles": tile_url}),
        }
