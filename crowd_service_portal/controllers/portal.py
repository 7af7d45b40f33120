"""The expert's phone portal (offers, jobs, visit actions) and the customer's service requests.

Each route finds its record, checks access with ``_document_check_access`` (record rules, or the
job's portal access token) and makes ONE model call: the model checks who acts, the state and the
input, and the route turns its refusal into a message on the page. An unknown id and a record the
user may not read get the same answer: 404.
"""

import pytz
from werkzeug.exceptions import NotFound

from odoo import fields, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request
from odoo.osv import expression
from odoo.tools.mimetypes import guess_mimetype
from odoo.tools.misc import format_datetime

from odoo.addons.crowd_service.controllers.portal_home import CrowdPortalHome
from odoo.addons.crowd_service.models.crowd_job import ACTIVE_VISIT_STATES, CLOSED_STATES
from odoo.addons.crowd_service.models.crowd_vocabulary import priority_selection
from odoo.addons.portal.controllers.portal import pager as portal_pager

# A transport bound (the request body is read at most this far); file types are checked by the model.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ACTION_ERRORS = (UserError, ValidationError, AccessError)
MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id in a URL is just another unknown id
# the states of a visit the customer still waits for
OPEN_JOB_STATES = ("new", "dispatching", "offered", "escalated", *ACTIVE_VISIT_STATES)
# a request still under way for its customer: its current visit is neither done nor cancelled (or not created yet)
OPEN_REQUEST = ["|", ("crowd_job_id", "=", False), ("crowd_job_id.state", "not in", CLOSED_STATES)]


class CrowdServicePortal(CrowdPortalHome):
    _per_page = 20

    # ------------------------------------------------------------------ helpers
    def _crowd_check(self, model, record_id, access_token=None):
        """The record (sudo, as ``_document_check_access`` returns it). An unknown id and a record the user
        may not read get the same answer, which never tells which ids exist: 404, or the login page when
        logged out (without a valid token)."""
        record = None
        if 0 < record_id <= MAX_ID:
            try:
                record = self._document_check_access(model, record_id, access_token)
            except (AccessError, MissingError):
                record = None
        if record is None:
            if request.env.user._is_public():
                raise http.SessionExpiredException("Session expired")
            raise NotFound()
        return record

    @staticmethod
    def _crowd_as_user(record_sudo):
        """The checked record in the user's environment: the model's actions check who the user is."""
        return record_sudo.with_env(request.env)

    @staticmethod
    def _crowd_int(value):
        """HTTP sends text: a whole number becomes an int, anything else is passed on for the model to refuse."""
        try:
            return int(value)
        except (TypeError, ValueError):
            return value

    @staticmethod
    def _crowd_search_first(model, domain, first, order, offset, limit):
        """One page of ``domain`` with the records matching ``first`` (a leaf or a domain) first, each part
        in ``order``."""
        first = expression.normalize_domain([first] if isinstance(first, tuple) else first)
        first_count = model.search_count([*domain, *first])
        records = model.search([*domain, *first], order=order, offset=offset, limit=limit)
        if len(records) < limit:
            records |= model.search(
                [*domain, "!", *first], order=order, offset=max(0, offset - first_count), limit=limit - len(records)
            )
        return records

    @staticmethod
    def _crowd_call(method, *args, **kwargs):
        """Run ONE model call: (its result, None), or (None, the refusal's message) with nothing it wrote kept."""
        try:
            with request.env.cr.savepoint():
                return method(*args, **kwargs), None
        except ACTION_ERRORS as exc:
            return None, exc.args[0]

    # ------------------------------------------------------------------ home
    def _crowd_home_values(self):
        """The counts of the expert's and the customer's tiles (templates: portal_my_home_crowd_tiles)."""
        values = super()._crowd_home_values()
        env = request.env
        Request = env["maintenance.request"]
        if values["crowd_is_expert"]:
            # sudo: the user's own expert profile
            me = env.user.partner_id.sudo()
            # plain (non-sudo) counts: record rules scope them to the user's own records
            values.update(self._prepare_home_portal_values(["crowd_offer_count", "crowd_job_count", "crowd_day_count"]))
            values.update(
                {"crowd_online": me.crowd_online, "crowd_onboarding": me.crowd_state in ("candidate", "onboarding")}
            )
        # the user's own scorecard: an expert's, or a partner company's that has technicians
        values["crowd_has_scorecard"] = bool(env.user.partner_id._crowd_scorecard_experts())
        if values["crowd_is_customer"]:
            values["crowd_service_count"] = (
                Request.search_count(self._service_domain("open")) if Request.has_access("read") else 0
            )
        return values

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        env = request.env
        Offer, Job, Request = env["crowd.dispatch.offer"], env["crowd.job"], env["maintenance.request"]
        # plain (non-sudo) counts: record rules scope them to the user's own records
        if "crowd_offer_count" in counters:
            values["crowd_offer_count"] = (
                Offer.search_count(self._offer_domain("pending")) if Offer.has_access("read") else 0
            )
        if "crowd_job_count" in counters:
            values["crowd_job_count"] = Job.search_count(self._job_domain("active")) if Job.has_access("read") else 0
        if "crowd_day_count" in counters:
            Stop = env["crowd.route.stop"]
            values["crowd_day_count"] = Stop.search_count(self._day_stop_domain()) if Stop.has_access("read") else 0
        if "crowd_service_count" in counters:
            values["crowd_service_count"] = (
                Request.search_count(self._service_domain()) if Request.has_access("read") else 0
            )
        return values

    def _offer_domain(self, filterby="all"):
        domain = [("expert_id", "=", request.env.user.partner_id.id)]
        if filterby == "pending":
            domain += [("state", "=", "pending")]
        elif filterby == "history":
            domain += [("state", "!=", "pending")]
        return domain

    def _job_domain(self, filterby="all"):
        domain = [("expert_id", "=", request.env.user.partner_id.id)]
        if filterby == "active":
            domain += [("state", "in", ACTIVE_VISIT_STATES)]
        elif filterby == "history":
            domain += [("state", "not in", ACTIVE_VISIT_STATES)]
        return domain

    def _day_stop_domain(self):
        """The user's own stops today (their routes of today, in the planning time zone)."""
        today = request.env["crowd.route"]._crowd_today(request.env.company)
        return [("technician_id", "=", request.env.user.partner_id.id), ("date", "=", today)]

    def _service_domain(self, filterby="all"):
        domain = [("equipment_id.crowd_customer_id", "=", request.env.user.commercial_partner_id.id)]
        if filterby == "open":
            domain += OPEN_REQUEST
        elif filterby == "history":
            domain += ["!", *OPEN_REQUEST]
        return domain

    def _crowd_filters(self, url, filters, filterby, domain_of, model):
        """The filter tabs of a list (active / history / all): label, url and count of each, the chosen one."""
        filterby = filterby if filterby in dict(filters) else filters[0][0]
        tabs = [
            {
                "key": key,
                "label": label,
                "url": f"{url}?filterby={key}",
                "count": model.search_count(domain_of(key)) if model.has_access("read") else 0,
                "active": key == filterby,
            }
            for key, label in filters
        ]
        return filterby, tabs

    @staticmethod
    def _crowd_tz():
        """The user's time zone, else the browser's (Odoo's ``tz`` cookie), else none (UTC)."""
        tz = request.env.user.tz or request.httprequest.cookies.get("tz")
        return tz if tz in pytz.all_timezones_set else None

    def _crowd_render(self, template, values):
        # every time of our pages in the user's time zone (``t-field`` reads it from the context)
        tz = self._crowd_tz()
        if tz and request.env.context.get("tz") != tz:
            request.update_context(tz=tz)
        page = self._prepare_portal_layout_values()
        page.update(values)
        return request.render(template, page)

    # ---------------------------------------------------------------- offers
    def _crowd_offer_filters(self):
        env = request.env
        return [("pending", env._("Waiting")), ("history", env._("History")), ("all", env._("All"))]

    @http.route(["/my/offers", "/my/offers/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_crowd_offers(self, page=1, filterby=None, **kw):
        return self._crowd_offers_page(page, filterby=filterby)

    def _crowd_offers_page(self, page=1, error=None, filterby=None):
        # error: the model's refusal of the previous action, never text from the URL
        Offer = request.env["crowd.dispatch.offer"]
        offers, pager = Offer, None
        filterby, tabs = self._crowd_filters(
            "/my/offers", self._crowd_offer_filters(), filterby, self._offer_domain, Offer
        )
        if Offer.has_access("read"):
            domain = self._offer_domain(filterby)
            pager = portal_pager(url="/my/offers", url_args={"filterby": filterby}, total=Offer.search_count(domain),
                                 page=page, step=self._per_page)  # fmt: skip
            # the offers waiting for an answer first (the soonest to expire first), then the history, newest first
            offers = self._crowd_search_first(
                Offer, domain, ("state", "=", "pending"), "sent_at desc, id desc", pager["offset"], self._per_page
            )
        values = {
            "offers": offers,
            "pager": pager,
            "error": error,
            "filterby": filterby,
            "crowd_tabs": tabs,
            # sudo: the user's own expert profile (the availability switch on top of the list)
            "me": request.env.user.partner_id.sudo(),
            "page_name": "crowd_offers",
            "default_url": "/my/offers",
        }
        return self._crowd_render("crowd_service_portal.portal_my_crowd_offers", values)

    @http.route(["/my/offers/<int:offer_id>"], type="http", auth="user", website=True)
    def portal_my_crowd_offer(self, offer_id, **kw):
        return self._crowd_offer_page(offer_id)

    def _crowd_offer_page(self, offer_id, error=None):
        # offers carry no access token: only the record rules (the expert's own offers) open them
        offer_sudo = self._crowd_check("crowd.dispatch.offer", offer_id)
        values = {
            "offer": offer_sudo,
            # only a summary of the job is shown before acceptance: no address, no contact
            "job": offer_sudo.job_id,
            "priorities": dict(priority_selection(request.env)),
            "page_name": "crowd_offer",
            "error": error,
        }
        return self._crowd_render("crowd_service_portal.portal_my_crowd_offer", values)

    @http.route(["/my/offers/<int:offer_id>/accept"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_offer_accept(self, offer_id, **kw):
        offer = self._crowd_as_user(self._crowd_check("crowd.dispatch.offer", offer_id))
        _result, error = self._crowd_call(offer.action_accept)
        if error:
            return self._crowd_offer_page(offer_id, error=error)
        return request.redirect(f"/my/jobs/{offer.sudo().job_id.id}?message=accepted")

    @http.route(["/my/offers/<int:offer_id>/decline"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_offer_decline(self, offer_id, reason=None, **kw):
        offer = self._crowd_as_user(self._crowd_check("crowd.dispatch.offer", offer_id))
        _result, error = self._crowd_call(offer.action_decline, (reason or "").strip() or None)
        if error:
            return self._crowd_offer_page(offer_id, error=error)
        return request.redirect("/my/offers")

    # ------------------------------------------------------------------ my day
    @http.route(["/my/day"], type="http", auth="user", website=True)
    def portal_my_crowd_day(self, **kw):
        """Today's route of the technician: stops in order, times in their time zone, a navigation link each."""
        Route = request.env["crowd.route"]
        route = Route
        if Route.has_access("read"):
            today = Route._crowd_today(request.env.company)
            route = Route.search(
                [("technician_id", "=", request.env.user.partner_id.id), ("date", "=", today)], limit=1
            )
        return self._crowd_day_page(route.sudo())

    @http.route(["/my/day/<int:route_id>"], type="http", auth="user", website=True)
    def portal_my_crowd_route(self, route_id, **kw):
        """One route of the technician's (another technician's route, or an unknown id: 404)."""
        route_sudo = self._crowd_check("crowd.route", route_id)
        if route_sudo.technician_id != request.env.user.partner_id:
            raise NotFound()
        return self._crowd_day_page(route_sudo)

    def _crowd_day_page(self, route_sudo):
        tz = request.env.user.tz or route_sudo.company_id.resource_calendar_id.tz or "UTC"

        def clock(moment):
            return format_datetime(request.env, moment, tz=tz, dt_format="HH:mm") if moment else ""

        values = {
            "route": route_sudo,
            "stops": route_sudo.stop_ids.sorted("sequence"),
            "clock": clock,
            "tz": tz,
            "page_name": "crowd_day",
        }
        return self._crowd_render("crowd_service_portal.portal_my_crowd_day", values)

    # ------------------------------------------------------------------ jobs
    def _crowd_job_filters(self):
        env = request.env
        return [("active", env._("Active")), ("history", env._("History")), ("all", env._("All"))]

    @http.route(["/my/jobs", "/my/jobs/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_crowd_jobs(self, page=1, filterby=None, **kw):
        Job = request.env["crowd.job"]
        jobs, pager = Job, None
        filterby, tabs = self._crowd_filters("/my/jobs", self._crowd_job_filters(), filterby, self._job_domain, Job)
        if Job.has_access("read"):
            domain = self._job_domain(filterby)
            pager = portal_pager(url="/my/jobs", url_args={"filterby": filterby}, total=Job.search_count(domain),
                                 page=page, step=self._per_page)  # fmt: skip
            jobs = self._crowd_search_first(
                Job, domain, ("state", "in", ACTIVE_VISIT_STATES), "assigned_at desc, id desc", pager["offset"],
                self._per_page,
            )  # fmt: skip
        # sudo: the jobs come from the user's own (rule-scoped) search; the list shows their asset and site
        values = {
            "jobs": jobs.sudo(),
            "pager": pager,
            "filterby": filterby,
            "crowd_tabs": tabs,
            "page_name": "crowd_jobs",
            "default_url": "/my/jobs",
        }
        return self._crowd_render("crowd_service_portal.portal_my_crowd_jobs", values)

    @http.route(["/my/jobs/<int:job_id>"], type="http", auth="public", website=True)
    def portal_my_crowd_job(self, job_id, access_token=None, message=None, **kw):
        return self._crowd_job_page(job_id, access_token=access_token, message=message)

    def _crowd_job_page(self, job_id, access_token=None, message=None, error=None):
        job_sudo = self._crowd_check("crowd.job", job_id, access_token)
        if job_sudo.expert_id != request.env.user.partner_id:
            # the job's portal URL (portal.mixin, e-mailed with a token) shown to its customer: the tracking page
            query = f"?access_token={access_token}" if access_token else ""
            return request.redirect(f"/my/service/{job_id}{query}")
        history = job_sudo.search(
            [("equipment_id", "=", job_sudo.equipment_id.id), ("id", "!=", job_sudo.id), ("state", "=", "done")],
            order="done_at desc, id desc", limit=10,
        ) if job_sudo.equipment_id else job_sudo.browse()  # fmt: skip
        values = {
            "job": job_sudo,
            "contact": job_sudo._crowd_site_contact(),
            "history": history,
            "priorities": dict(priority_selection(request.env)),
            "page_name": "crowd_job",
            "message": message,
            "error": error,
        }
        return self._crowd_render("crowd_service_portal.portal_my_crowd_job", values)

    def _crowd_job_action(self, job, action, post):
        """The ONE model call of a visit action (raises the model's refusal)."""
        if action == "en_route":
            return job.action_en_route(post.get("eta_minutes"))
        if action == "check_in":
            return job.action_check_in(post.get("latitude"), post.get("longitude"))
        if action == "report":
            return job.action_report(
                (post.get("notes") or "").strip(), attachment_ids=self._crowd_uploads("photos").ids
            )
        if action == "complete":
            return job.action_complete((post.get("resolution") or "").strip() or None)
        return job.action_escalate_specialist((post.get("diagnosis") or "").strip())

    @http.route(
        ["/my/jobs/<int:job_id>/<any(en_route,check_in,report,complete,escalate):action>"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_crowd_job_action(self, job_id, action, **post):
        # no access token here: only the job's expert (or a dispatcher) acts, which the model checks
        job = self._crowd_as_user(self._crowd_check("crowd.job", job_id))
        # the uploads of a refused report are undone with it (same savepoint)
        _result, error = self._crowd_call(self._crowd_job_action, job, action, post)
        if error:
            return self._crowd_job_page(job_id, error=error)
        return request.redirect(f"/my/jobs/{job_id}")

    def _crowd_uploads(self, field):
        """The uploaded files as the user's own unlinked attachments; the model checks type and owner."""
        vals_list = []
        for upload in request.httprequest.files.getlist(field):
            if not upload or not upload.filename:
                continue
            content = upload.read(MAX_UPLOAD_BYTES + 1)
            if len(content) > MAX_UPLOAD_BYTES:
                raise ValidationError(request.env._("%s is larger than 10 MB.", upload.filename))
            # the type is what the bytes are, never what the file name claims
            vals_list.append({"name": upload.filename[:200], "raw": content, "mimetype": guess_mimetype(content)})
        # sudo: portal users have no access to ir.attachment; the files are created unlinked and owned by the
        # user (create_uid), and the model method that receives them checks owner and type before linking them
        return request.env["ir.attachment"].sudo().create(vals_list)

    # ---------------------------------------------------------- availability
    @http.route(["/my/crowd/availability"], type="http", auth="user", methods=["GET"], website=True)
    def portal_crowd_availability_page(self, **kw):
        return self._crowd_availability_page()

    def _crowd_availability_page(self, error=None):
        partner = request.env.user.partner_id
        # sudo: the user's own partner (whose crowd fields are for crowd staff only)
        if not partner.sudo().is_crowd_expert:
            raise NotFound()
        values = {
            # sudo: an expert reads their own availability (working hours, blackouts)
            "me": partner.sudo(),
            "blackouts": partner.sudo().crowd_blackout_ids.filtered(lambda b: b.date_to >= fields.Datetime.now()),
            "error": error,
            "page_name": "crowd_availability",
        }
        return self._crowd_render("crowd_service_portal.portal_crowd_availability", values)

    @http.route(["/my/crowd/availability"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_availability(self, online=None, latitude=None, longitude=None, redirect=None, **kw):
        partner = request.env.user.partner_id
        _result, error = self._crowd_call(
            partner.crowd_portal_set_online, online == "1", latitude or None, longitude or None
        )
        back_to_offers = redirect == "/my/offers"
        if error:
            return self._crowd_offers_page(error=error) if back_to_offers else self._crowd_availability_page(error)
        return request.redirect("/my/offers" if back_to_offers else "/my/crowd/availability")

    # --------------------------------------------------------------- profile
    @http.route(["/my/crowd/profile"], type="http", auth="user", website=True)
    def portal_crowd_profile(self, message=None, **kw):
        return self._crowd_profile_page(message=message)

    def _crowd_profile_page(self, message=None, error=None):
        partner = request.env.user.partner_id
        # sudo: the user's own partner (whose crowd fields are for crowd staff only)
        if not partner.sudo().is_crowd_expert:
            raise NotFound()
        values = {
            # sudo: an expert reads their own profile (the user's partner) and the list of certificate types
            "expert": partner.sudo(),
            "certificate_types": request.env["crowd.certificate.type"].sudo().search([]),
            "page_name": "crowd_profile",
            "error": error,
            "message": message,
        }
        return self._crowd_render("crowd_service_portal.portal_crowd_profile", values)

    # ------------------------------------------------------------- scorecard
    @http.route(["/my/crowd/scorecard", "/my/crowd/scorecard/<int:partner_id>"], type="http", auth="user", website=True)
    def portal_crowd_scorecard(self, partner_id=None, **kw):
        """The scorecard of the user (an expert, or a partner company with technicians) or, for a partner
        company's user, of one of its technicians; any other id answers 404, as an unknown one."""
        user = request.env.user
        partner = user.partner_id if partner_id is None else request.env["res.partner"].browse(partner_id)
        if not (0 < partner.id <= MAX_ID) or not partner.sudo().exists():
            raise NotFound()
        if not partner._crowd_scorecard_visible_to(user) or not partner._crowd_scorecard_experts():
            raise NotFound()
        card = partner._crowd_scorecard()
        technicians = card["experts"] if card["technicians"] else partner.browse()
        values = {
            # sudo: the reader was checked above (their own scorecard, or their company's technicians)
            "scorecard_partner": partner.sudo(),
            "card": card,
            "technicians": technicians,
            "technician_cards": {tech.id: tech._crowd_scorecard() for tech in technicians},
            "page_name": "crowd_scorecard",
        }
        return self._crowd_render("crowd_service_portal.portal_crowd_scorecard", values)

    @http.route(["/my/crowd/certificates"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_certificate_upload(self, type_id=None, number=None, issue_date=None, expiry_date=None, **kw):
        partner = request.env.user.partner_id
        _result, error = self._crowd_call(
            lambda: partner.crowd_portal_submit_certificate(
                self._crowd_int(type_id), number, issue_date or None, expiry_date or None,
                self._crowd_uploads("document").ids,
            )
        )  # fmt: skip
        if error:
            return self._crowd_profile_page(error=error)
        return request.redirect("/my/crowd/profile?message=uploaded")

    # --------------------------------------------------------------- customer
    def _crowd_service_filters(self):
        env = request.env
        return [("open", env._("Open")), ("history", env._("History")), ("all", env._("All"))]

    @http.route(["/my/service", "/my/service/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_crowd_services(self, page=1, message=None, filterby=None, **kw):
        Request, Job = request.env["maintenance.request"], request.env["crowd.job"]
        services, jobs, pager = Request, Job, None
        filterby, tabs = self._crowd_filters(
            "/my/service", self._crowd_service_filters(), filterby, self._service_domain, Request
        )
        if Request.has_access("read"):
            domain = self._service_domain(filterby)
            pager = portal_pager(url="/my/service", url_args={"filterby": filterby},
                                 total=Request.search_count(domain), page=page, step=self._per_page)  # fmt: skip
            # the requests still waiting for a visit first, newest first
            services = self._crowd_search_first(
                Request, domain, OPEN_REQUEST, "request_date desc, id desc",
                pager["offset"], self._per_page,
            )  # fmt: skip
            # the visits of these requests that the customer may read (record rules), newest first
            jobs = Job.search([("request_id", "in", services.ids)], order="id desc") if Job.has_access("read") else Job
        values = {
            "services": services,
            # sudo: the visits come from the user's own (rule-scoped) search; a row shows their site and expert
            "jobs_by_request": {svc.id: jobs.sudo().filtered(lambda j, s=svc: j.request_id == s) for svc in services},
            "open_states": OPEN_JOB_STATES,
            "pager": pager,
            "message": message,
            "filterby": filterby,
            "crowd_tabs": tabs,
            "page_name": "crowd_services",
            "default_url": "/my/service",
        }
        return self._crowd_render("crowd_service_portal.portal_my_crowd_services", values)

    def _own_equipment(self):
        Equipment = request.env["maintenance.equipment"]
        if not Equipment.has_access("read"):
            return Equipment
        return Equipment.search([("crowd_customer_id", "=", request.env.user.commercial_partner_id.id)])

    @http.route(["/my/service/new"], type="http", auth="user", website=True, methods=["GET", "POST"])
    def portal_crowd_service_new(self, equipment=None, name=None, description=None, priority=None, **kw):
        values = {
            "equipments": self._own_equipment(),
            # maintenance's own priorities, highest first
            "priorities": priority_selection(request.env)[::-1],
            "post": {"name": name, "description": description, "priority": priority or "2"},
            "selected": equipment,
            "error": None,
            "page_name": "crowd_service_new",
        }
        if request.httprequest.method == "POST":
            created, values["error"] = self._crowd_call(
                request.env["maintenance.request"].crowd_request_service,
                self._crowd_int(equipment), name, description=description, priority=priority,
            )  # fmt: skip
            if created:
                job = created.sudo().crowd_job_id  # sudo: the request the user just created
                return request.redirect(f"/my/service/{job.id}" if job else "/my/service?message=received")
        return self._crowd_render("crowd_service_portal.portal_crowd_service_new", values)

    @http.route(["/my/service/<int:job_id>"], type="http", auth="public", website=True)
    def portal_my_crowd_service(self, job_id, access_token=None, **kw):
        return self._crowd_service_page(job_id, access_token=access_token)

    def _crowd_service_page(self, job_id, access_token=None, error=None):
        job_sudo = self._crowd_check("crowd.job", job_id, access_token)
        expert = job_sudo.expert_id
        partner = request.env.user.partner_id
        values = {
            "job": job_sudo,
            "access_token": access_token,
            # the visits of the same ticket (a specialist follow-up after a first responder)
            "visits": job_sudo.request_id.crowd_job_ids.sorted("id"),
            "priorities": dict(priority_selection(request.env)),
            "expert_first_name": self._crowd_first_name(expert),
            "expert_rating": expert.crowd_rating if expert else False,
            "can_rate": not request.env.user._is_public(),
            "my_rating": job_sudo.rating_ids.filtered(lambda r: r.consumed and r.partner_id == partner)[:1],
            "error": error,
            "page_name": "crowd_service",
        }
        return self._crowd_render("crowd_service_portal.portal_my_crowd_service", values)

    @staticmethod
    def _crowd_first_name(expert):
        """What a customer sees of the expert's name: the first name only."""
        return (expert.name or "").split(" ")[0] if expert else False

    @http.route(["/my/service/<int:job_id>/rate"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_service_rate(self, job_id, rating=None, comment=None, **kw):
        job = self._crowd_as_user(self._crowd_check("crowd.job", job_id))
        _result, error = self._crowd_call(job.action_rate, self._crowd_int(rating), (comment or "").strip() or None)
        if error:
            return self._crowd_service_page(job_id, error=error)
        return request.redirect(f"/my/service/{job_id}")
