from odoo import fields, http
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request
from odoo.tools.mimetypes import guess_mimetype

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

ACTIVE_JOB_STATES = ("assigned", "en_route", "on_site")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ALLOWED_MIMETYPES = ("image/jpeg", "image/png", "application/pdf")
ALLOWED_PRIORITIES = ("0", "1", "2", "3")


class CrowdServicePortal(CustomerPortal):
    """The expert's phone portal (offers, jobs, visit actions) and the customer's service requests.

    Reads are plain searches so the record rules of this addon scope them to the user's partner
    (expert) or commercial partner (customer); sudo() is used only after such a check.
    """

    _per_page = 20

    # ------------------------------------------------------------------ home
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        Offer = request.env["crowd.dispatch.offer"]
        Request = request.env["maintenance.request"]
        if "crowd_offer_count" in counters:
            values["crowd_offer_count"] = Offer.search_count(self._offer_domain()) if Offer.has_access("read") else 0
        if "crowd_job_count" in counters:
            values["crowd_job_count"] = (
                Request.search_count(self._job_domain(active=True)) if Request.has_access("read") else 0
            )
        if "crowd_service_count" in counters:
            values["crowd_service_count"] = (
                Request.search_count(self._service_domain()) if Request.has_access("read") else 0
            )
        return values

    def _offer_domain(self):
        return [("expert_id", "=", request.env.user.partner_id.id), ("state", "=", "pending")]

    def _job_domain(self, active=None):
        domain = [("crowd_expert_id", "=", request.env.user.partner_id.id)]
        if active is True:
            domain.append(("crowd_dispatch_state", "in", ACTIVE_JOB_STATES))
        return domain

    def _service_domain(self):
        return [("equipment_id.crowd_customer_id", "=", request.env.user.commercial_partner_id.id)]

    # ---------------------------------------------------------------- offers
    @http.route(["/my/offers", "/my/offers/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_crowd_offers(self, page=1, **kw):
        Offer = request.env["crowd.dispatch.offer"]
        if not Offer.has_access("read"):
            return request.redirect("/my")
        domain = [("expert_id", "=", request.env.user.partner_id.id)]
        pager = portal_pager(url="/my/offers", total=Offer.search_count(domain), page=page, step=self._per_page)
        offers = Offer.search(domain, order="state desc, sent_at desc, id desc", limit=self._per_page,
                              offset=pager["offset"])  # fmt: skip
        values = self._prepare_portal_layout_values()
        values.update({"offers": offers, "pager": pager, "page_name": "crowd_offer", "default_url": "/my/offers"})
        return request.render("crowd_service_portal.portal_my_crowd_offers", values)

    def _own_offer(self, offer_id):
        """The offer if it is the current user's (record rule + explicit check), else None."""
        offer = request.env["crowd.dispatch.offer"].browse(offer_id).exists()
        try:
            offer.check_access("read")
        except AccessError:
            return None
        if not offer or offer.expert_id != request.env.user.partner_id:
            return None
        return offer

    @http.route(["/my/offers/<int:offer_id>"], type="http", auth="user", website=True)
    def portal_my_crowd_offer(self, offer_id, message=None, error=None, **kw):
        offer = self._own_offer(offer_id)
        if offer is None:
            return request.redirect("/my/offers")
        # sudo: the offer is the user's own (checked above); only a job summary is shown before acceptance
        job = offer.sudo().request_id
        values = self._prepare_portal_layout_values()
        values.update({"offer": offer, "job": job, "page_name": "crowd_offer", "message": message, "error": error})
        return request.render("crowd_service_portal.portal_my_crowd_offer", values)

    @http.route(["/my/offers/<int:offer_id>/accept"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_offer_accept(self, offer_id, **kw):
        offer = self._own_offer(offer_id)
        if offer is None:
            return request.redirect("/my/offers")
        try:
            offer.action_accept()
        except (UserError, ValidationError) as exc:
            return self.portal_my_crowd_offer(offer_id, error=exc.args[0])
        return request.redirect(f"/my/jobs/{offer.request_id.id}?message=accepted")

    @http.route(["/my/offers/<int:offer_id>/decline"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_offer_decline(self, offer_id, reason=None, **kw):
        offer = self._own_offer(offer_id)
        if offer is None:
            return request.redirect("/my/offers")
        try:
            offer.action_decline((reason or "").strip()[:500] or None)
        except (UserError, ValidationError) as exc:
            return self.portal_my_crowd_offer(offer_id, error=exc.args[0])
        return request.redirect("/my/offers")

    # ------------------------------------------------------------------ jobs
    @http.route(["/my/jobs", "/my/jobs/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_crowd_jobs(self, page=1, **kw):
        Request = request.env["maintenance.request"]
        if not Request.has_access("read"):
            return request.redirect("/my")
        domain = self._job_domain()
        pager = portal_pager(url="/my/jobs", total=Request.search_count(domain), page=page, step=self._per_page)
        jobs = Request.search(domain, order="crowd_assigned_at desc, id desc", limit=self._per_page,
                              offset=pager["offset"])  # fmt: skip
        values = self._prepare_portal_layout_values()
        values.update({"jobs": jobs, "pager": pager, "page_name": "crowd_job", "default_url": "/my/jobs"})
        return request.render("crowd_service_portal.portal_my_crowd_jobs", values)

    def _own_job(self, request_id):
        job = request.env["maintenance.request"].browse(request_id).exists()
        try:
            job.check_access("read")
        except AccessError:
            return None
        if not job or job.crowd_expert_id != request.env.user.partner_id:
            return None
        return job

    @http.route(["/my/jobs/<int:request_id>"], type="http", auth="user", website=True)
    def portal_my_crowd_job(self, request_id, message=None, error=None, **kw):
        job = self._own_job(request_id)
        if job is None:
            return request.redirect("/my/jobs")
        # sudo: the job is assigned to this expert (checked above): site, contact and history are theirs to see
        job_sudo = job.sudo()
        history = job_sudo.equipment_id and job_sudo.search(
            [("equipment_id", "=", job_sudo.equipment_id.id), ("id", "!=", job_sudo.id)], limit=10,
            order="request_date desc, id desc",
        )  # fmt: skip
        values = self._prepare_portal_layout_values()
        values.update({"job": job_sudo, "history": history or [], "page_name": "crowd_job", "message": message,
                       "error": error})  # fmt: skip
        return request.render("crowd_service_portal.portal_my_crowd_job", values)

    @http.route(["/my/jobs/<int:request_id>/<string:action>"], type="http", auth="user", methods=["POST"],
                website=True)  # fmt: skip
    def portal_crowd_job_action(self, request_id, action, **post):
        job = self._own_job(request_id)
        if job is None:
            return request.redirect("/my/jobs")
        # sudo: the user is the assigned expert (checked above); the action methods enforce the lifecycle
        job_sudo = job.sudo()
        try:
            if action == "en_route":
                job_sudo.action_crowd_en_route(self._float(post.get("eta_minutes"), "ETA"))
            elif action == "check_in":
                job_sudo.action_crowd_check_in(self._float(post.get("latitude"), "latitude"),
                                               self._float(post.get("longitude"), "longitude"))  # fmt: skip
            elif action == "report":
                notes = (post.get("notes") or "").strip()
                if not notes:
                    raise ValidationError(request.env._("Write what you found and did."))
                files = self._checked_uploads("photos")
                with request.env.cr.savepoint():  # a refused report leaves no orphan attachment
                    attachments = self._attach(files, "maintenance.request", job_sudo.id)
                    job_sudo.action_crowd_report(notes[:10000], attachment_ids=attachments.ids)
            elif action == "complete":
                job_sudo.action_crowd_complete((post.get("resolution") or "").strip()[:2000] or None)
            elif action == "escalate":
                if job_sudo.crowd_expert_id.crowd_tier != "first_responder":
                    raise UserError(request.env._("Only first responders can escalate to a specialist."))
                diagnosis = (post.get("diagnosis") or "").strip()
                if not diagnosis:
                    raise ValidationError(request.env._("Describe your diagnosis for the specialist."))
                job_sudo.action_crowd_escalate_specialist(diagnosis[:5000])
            else:
                raise request.not_found()
        except (UserError, ValidationError, AccessError) as exc:
            return self.portal_my_crowd_job(request_id, error=exc.args[0])
        return request.redirect(f"/my/jobs/{request_id}")

    @staticmethod
    def _checked_uploads(field):
        """[(name, content, mimetype)] of the uploaded files, or ValidationError: 10 MB, JPEG/PNG/PDF."""
        files = []
        for upload in request.httprequest.files.getlist(field):
            if not upload or not upload.filename:
                continue
            content = upload.read(MAX_UPLOAD_BYTES + 1)
            if len(content) > MAX_UPLOAD_BYTES:
                raise ValidationError(request.env._("%s is larger than 10 MB.", upload.filename))
            mimetype = guess_mimetype(content)
            if mimetype not in ALLOWED_MIMETYPES:
                raise ValidationError(request.env._("%s is not a JPEG, PNG or PDF file.", upload.filename))
            files.append((upload.filename[:200], content, mimetype))
        return files

    @staticmethod
    def _attach(files, res_model, res_id):
        # sudo: portal users cannot create attachments; the target record was checked by the caller
        return request.env["ir.attachment"].sudo().create(
            [{"name": name, "raw": content, "mimetype": mimetype, "res_model": res_model, "res_id": res_id}
             for name, content, mimetype in files]
        )  # fmt: skip

    @staticmethod
    def _float(value, label):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError(request.env._("%s must be a number.", label)) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValidationError(request.env._("%s must be a number.", label))
        return number

    # ---------------------------------------------------------- availability
    @http.route(["/my/crowd/availability"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_availability(self, online=None, latitude=None, longitude=None, **kw):
        partner = request.env.user.partner_id
        if not partner.is_crowd_expert:
            return request.redirect("/my")
        lat = lon = None
        if latitude not in (None, "") and longitude not in (None, ""):
            try:
                lat, lon = self._float(latitude, "latitude"), self._float(longitude, "longitude")
            except ValidationError:
                return request.redirect("/my/offers?error=position")
        try:
            with request.env.cr.savepoint():  # a refused position leaves the availability as it was
                # sudo: an expert switches only their own partner's availability (user.partner_id)
                partner.sudo().crowd_set_online(online == "1", lat=lat, lon=lon)
        except ValidationError:
            return request.redirect("/my/offers?error=position")
        return request.redirect("/my/offers")

    # --------------------------------------------------------------- profile
    @http.route(["/my/crowd/profile"], type="http", auth="user", website=True)
    def portal_crowd_profile(self, error=None, message=None, **kw):
        partner = request.env.user.partner_id
        if not partner.is_crowd_expert:
            return request.redirect("/my")
        # sudo: an expert reads their own profile (user.partner_id) and the list of certificate types
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "expert": partner.sudo(),
                "certificate_types": request.env["crowd.certificate.type"].sudo().search([]),
                "page_name": "crowd_profile",
                "error": error,
                "message": message,
            }
        )
        return request.render("crowd_service_portal.portal_crowd_profile", values)

    @http.route(["/my/crowd/certificates"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_certificate_upload(self, type_id=None, number=None, issue_date=None, expiry_date=None, **kw):
        partner = request.env.user.partner_id
        if not partner.is_crowd_expert:
            return request.redirect("/my")
        cert_type = request.env["crowd.certificate.type"].sudo().browse(int(type_id or 0) if (type_id or "").isdigit()
                                                                          else 0).exists()  # fmt: skip
        try:
            if not cert_type:
                raise ValidationError(request.env._("Choose the type of certificate."))
            files = self._checked_uploads("document")
            if not files:
                raise ValidationError(request.env._("Attach the certificate document."))
            dates = {}
            for key, value in (("issue_date", issue_date), ("expiry_date", expiry_date)):
                if value:
                    try:
                        dates[key] = fields.Date.to_date(value)
                    except ValueError:
                        raise ValidationError(request.env._("Dates are written YYYY-MM-DD.")) from None
            with request.env.cr.savepoint():  # a refused certificate leaves nothing behind
                # sudo: the expert adds a certificate to their own partner only; it waits for verification
                cert = request.env["crowd.expert.certificate"].sudo().create(
                    {"partner_id": partner.id, "type_id": cert_type.id, "number": (number or "").strip()[:64],
                     "state": "pending", **dates}
                )  # fmt: skip
                cert.attachment_ids = self._attach(files, "crowd.expert.certificate", cert.id)
        except ValidationError as exc:
            return self.portal_crowd_profile(error=exc.args[0])
        return request.redirect("/my/crowd/profile?message=uploaded")

    # --------------------------------------------------------------- customer
    @http.route(["/my/service"], type="http", auth="user", website=True)
    def portal_my_crowd_services(self, **kw):
        Request = request.env["maintenance.request"]
        if not Request.has_access("read"):
            return request.redirect("/my")
        services = Request.search(self._service_domain(), order="request_date desc, id desc", limit=50)
        values = self._prepare_portal_layout_values()
        values.update({"services": services, "page_name": "crowd_service"})
        return request.render("crowd_service_portal.portal_my_crowd_services", values)

    def _own_equipment(self):
        Equipment = request.env["maintenance.equipment"]
        if not Equipment.has_access("read"):
            return Equipment
        return Equipment.search([("crowd_customer_id", "=", request.env.user.commercial_partner_id.id)])

    @http.route(["/my/service/new"], type="http", auth="user", website=True, methods=["GET", "POST"])
    def portal_crowd_service_new(self, equipment=None, **post):
        equipments = self._own_equipment()
        values = self._prepare_portal_layout_values()
        values.update({"equipments": equipments, "page_name": "crowd_service", "post": post, "error": None,
                       "selected": equipment})  # fmt: skip
        if request.httprequest.method != "POST":
            return request.render("crowd_service_portal.portal_crowd_service_new", values)
        try:
            equipment_id = int(equipment or 0)
        except ValueError:
            equipment_id = 0
        chosen = equipments.filtered(lambda e: e.id == equipment_id)
        name = (post.get("name") or "").strip()
        priority = post.get("priority") or "2"
        if not chosen:
            values["error"] = request.env._("Choose one of your company's equipment.")
        elif not name:
            values["error"] = request.env._("Describe the problem in a few words.")
        elif priority not in ALLOWED_PRIORITIES:
            values["error"] = request.env._("Unknown priority.")
        if values["error"]:
            return request.render("crowd_service_portal.portal_crowd_service_new", values)
        # sudo: portal customers cannot create requests; the equipment was checked to be their company's,
        # and only these whitelisted fields are written
        new = (
            request.env["maintenance.request"]
            .sudo()
            .with_company(chosen.company_id or request.env.company)
            .create(
                {
                    "name": name[:200],
                    "description": (post.get("description") or "").strip()[:5000],
                    "priority": priority,
                    "equipment_id": chosen.id,
                    "maintenance_type": "corrective",
                }
            )
        )
        return request.redirect(f"/my/service/{new.id}")

    def _own_service(self, request_id):
        service = request.env["maintenance.request"].browse(request_id).exists()
        try:
            service.check_access("read")
        except AccessError:
            return None
        if not service or service.equipment_id.crowd_customer_id != request.env.user.commercial_partner_id:
            return None
        return service

    @http.route(["/my/service/<int:request_id>/rate"], type="http", auth="user", methods=["POST"], website=True)
    def portal_crowd_service_rate(self, request_id, rating=None, comment=None, **kw):
        service = self._own_service(request_id)
        if service is None:
            return request.redirect("/my/service")
        try:
            rate = int(rating)
        except (TypeError, ValueError):
            rate = 0
        try:
            # sudo: the request is the customer's (checked above); rating records are not portal-writable
            service.sudo()._crowd_rate(rate, (comment or "").strip(), request.env.user.partner_id)
        except (UserError, ValidationError) as exc:
            return self.portal_my_crowd_service(request_id, error=exc.args[0])
        return request.redirect(f"/my/service/{request_id}")

    @http.route(["/my/service/<int:request_id>"], type="http", auth="user", website=True)
    def portal_my_crowd_service(self, request_id, error=None, **kw):
        service = self._own_service(request_id)
        if service is None:
            return request.redirect("/my/service")
        # sudo: the request is the customer's (checked above); only the expert's first name and rating are shown
        service_sudo = service.sudo()
        expert = service_sudo.crowd_expert_id
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "service": service_sudo,
                "expert_first_name": (expert.name or "").split(" ")[0] if expert else False,
                "expert_rating": expert.crowd_rating if expert else False,
                "my_rating": service_sudo.rating_ids.filtered(
                    lambda r: r.consumed and r.partner_id == request.env.user.partner_id
                )[:1],
                "error": error,
                "page_name": "crowd_service",
            }
        )
        return request.render("crowd_service_portal.portal_my_crowd_service", values)
