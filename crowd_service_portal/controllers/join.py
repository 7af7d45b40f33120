"""The public "Join the crowd" form, the e-mail confirmation page and the invitation links.

Thin: each route reads the form and makes ONE model call (``res.partner._crowd_apply``,
``_crowd_join_confirm``), which checks everything (rate limit, honeypot, values, files) and refuses with a
clear message that is shown on the page.
"""

from werkzeug.urls import url_encode

from odoo import http
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request

from odoo.addons.auth_signup.controllers.main import AuthSignupHome

from ..models.res_partner_join import MAX_CERTIFICATES

ERRORS = (UserError, ValidationError, AccessError)
# the form's text fields, passed to the model as they are (the model reads only what it knows)
TEXT_FIELDS = ("name", "email", "phone", "company_name", "street", "zip", "city", "country_id", "latitude",
               "longitude", "radius_km")  # fmt: skip
FORM_CERTIFICATES = 3
assert FORM_CERTIFICATES <= MAX_CERTIFICATES
HONEYPOT = "crowd_website"


class CrowdJoin(http.Controller):
    def _crowd_join_values(self, post, invite=None, error=None):
        env = request.env
        # sudo: skills, levels and certificate types are reference data shown to applicants
        skill_types = env["crowd.skill.type"].sudo().search([])
        skills = env["crowd.skill"].sudo().search([], order="skill_type_id, name, id")
        prefill = env["res.partner"].sudo()._crowd_join_invitation(invite) if invite else {}
        if prefill and not post:
            post = {key: prefill[key] for key in ("name", "email", "company_name")}
        company = env.company
        return {
            "post": post,
            "error": error,
            "invite": invite if prefill else "",
            "invited": bool(prefill),
            "skill_types": skill_types,
            "skills_by_type": {st.id: skills.filtered(lambda s, st=st: s.skill_type_id == st) for st in skill_types},
            "suggested_skill_ids": set(prefill.get("skill_ids", [])),
            "levels_by_type": {st.id: st.level_ids.sorted("level_progress") for st in skill_types},
            "certificate_types": env["crowd.certificate.type"].sudo().search([]),
            "countries": env["res.country"].sudo().search([]),
            "default_country_id": company.country_id.id,
            "cert_rows": range(FORM_CERTIFICATES),
            "honeypot": HONEYPOT,
            "max_file_mb": env["res.partner"].sudo()._crowd_max_file_bytes() // (1024 * 1024),
        }

    def _crowd_join_form(self, post):
        """The model's values from the POSTed form (files read up to one byte past the model's limit)."""
        values = {key: post.get(key) for key in TEXT_FIELDS}
        values["honeypot"] = post.get(HONEYPOT)
        values["invite"] = post.get("invite") or None
        values["skills"] = [
            (key[len("skill_") :], level) for key, level in post.items() if key.startswith("skill_") and level
        ]
        max_bytes = request.env["res.partner"].sudo()._crowd_max_file_bytes()
        files = request.httprequest.files
        certificates = []
        for row in range(FORM_CERTIFICATES):
            upload = files.get(f"cert_file_{row}")
            type_id = post.get(f"cert_type_{row}")
            if not type_id and not (upload and upload.filename):
                continue
            certificates.append(
                {
                    "type_id": type_id,
                    "number": post.get(f"cert_number_{row}"),
                    "expiry_date": post.get(f"cert_expiry_{row}") or None,
                    "filename": upload.filename if upload else None,
                    "content": upload.read(max_bytes + 1) if upload and upload.filename else None,
                }
            )
        values["certificates"] = certificates
        return values

    @http.route("/crowd/join", type="http", auth="public", website=True, sitemap=False, methods=["GET", "POST"])
    def crowd_join(self, invite=None, **post):
        if request.httprequest.method == "GET":
            return request.render("crowd_service_portal.crowd_join_page", self._crowd_join_values({}, invite))
        try:
            # sudo: the public applicant; the model reads only the keys it knows and sets the pool fields itself
            request.env["res.partner"].sudo()._crowd_apply(
                self._crowd_join_form(post), ip_address=request.httprequest.remote_addr
            )
        except ERRORS as exc:
            # the model created nothing (its savepoint); the attempt it counted is kept
            shown = {key: post.get(key) for key in TEXT_FIELDS}
            shown.update({key: value for key, value in post.items() if key.startswith("skill_")})
            return request.render(
                "crowd_service_portal.crowd_join_page", self._crowd_join_values(shown, invite, exc.args[0])
            )
        return request.redirect("/crowd/join/thanks")

    @http.route("/crowd/join/thanks", type="http", auth="public", website=True, sitemap=False)
    def crowd_join_thanks(self, **kw):
        return request.render("crowd_service_portal.crowd_join_thanks", {})

    @http.route("/crowd/join/confirm", type="http", auth="public", website=True, sitemap=False, methods=["GET", "POST"])
    def crowd_join_confirm(self, token=None, password=None, confirm_password=None, **kw):
        Partner = request.env["res.partner"].sudo()
        values = {"token": token, "error": None, "confirmed": False}
        if request.httprequest.method == "POST":
            try:
                values["applicant"] = Partner._crowd_join_confirm(token, password, confirm_password)
                values["confirmed"] = True
            except ERRORS as exc:
                values["error"] = exc.args[0]
        if not values["confirmed"]:
            values["applicant"] = Partner._crowd_join_from_token(token)
        return request.render("crowd_service_portal.crowd_join_confirm", values)


class CrowdAuthSignup(AuthSignupHome):
    @http.route()
    def web_auth_signup(self, *args, **kw):
        """Odoo's signup page with an applicant's token: the applicant's own confirmation page (their user
        stays archived until approval, so Odoo's page could not log them in)."""
        token = kw.get("token")
        if token and request.env["res.partner"].sudo()._crowd_join_from_token(token):
            return request.redirect(f"/crowd/join/confirm?{url_encode({'token': token})}")
        return super().web_auth_signup(*args, **kw)
