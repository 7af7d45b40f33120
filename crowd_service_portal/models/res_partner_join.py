# pylint: disable=consider-merging-classes-inherited
"""Experts who join by themselves: the public application, the e-mail confirmation through Odoo's signup
(auth_signup tokens), the dispatcher's review (approve or reject) and the invitation link.

The public form's controller calls ONE private method, :meth:`ResPartner._crowd_apply`, with the values
it read from the form; that method reads only the keys it knows (whatever else a client sends is never
looked at) and sets the pool fields itself: an applicant can set neither their status, tier, kind,
rating, pool company nor the verification of a skill or certificate.
"""

import base64
import logging

import psycopg2
from werkzeug.urls import url_encode

from odoo import Command, api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules import module as odoo_module
from odoo.tools.mimetypes import guess_mimetype

from odoo.addons.crowd_service.models.crowd_job import REPORT_MIMETYPES

_logger = logging.getLogger(__name__)

INVITE_SCOPE = "crowd_join_invite"
PARAM_MAX_FILE_MB = "crowd_service_portal.join_max_file_mb"
PARAM_INVITE_DAYS = "crowd_service_portal.join_invite_validity_days"
PARAM_GEOCODING = "crowd_service_portal.join_geocoding"
DEFAULT_MAX_FILE_MB = 5
DEFAULT_INVITE_DAYS = 30
MAX_TEXT = 128
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_CERT_NUMBER = 64
MAX_SKILLS = 40
MAX_CERTIFICATES = 5
MAX_RADIUS_KM = 500
MIN_PASSWORD = 8
# written by the system only (with sudo), in the methods below
JOIN_SYSTEM_FIELDS = {"crowd_applied_on", "crowd_email_confirmed_on", "crowd_invited_by_id", "crowd_applicant_ip"}
# the keys _crowd_apply reads; any other key of the values is ignored
APPLY_KEYS = (
    "name", "email", "phone", "company_name", "street", "zip", "city", "country_id", "latitude", "longitude",
    "radius_km", "skills", "certificates", "invite", "honeypot",
)  # fmt: skip


class ResPartner(models.Model):
    _inherit = "res.partner"

    crowd_state = fields.Selection(
        selection_add=[("applied", "Applied"), ("candidate",), ("rejected", "Rejected")],
        ondelete={"applied": "set default", "rejected": "set default"},
    )
    crowd_applied_on = fields.Datetime(string="Applied On", readonly=True, copy=False)
    crowd_email_confirmed_on = fields.Datetime(
        string="E-mail Confirmed On",
        readonly=True,
        copy=False,
        help="When the applicant confirmed their e-mail address with the link of the confirmation e-mail "
        "(Odoo's signup token) and chose a password.",
    )
    crowd_invited_by_id = fields.Many2one(
        "res.users", string="Invited By", readonly=True, copy=False, help="The dispatcher whose invitation was used."
    )
    crowd_applied_company = fields.Char(
        string="Declared Company",
        copy=False,
        help="The service company the applicant says they work for: link it as Partner Company if it is one.",
    )
    crowd_applicant_ip = fields.Char(string="Applicant IP", readonly=True, copy=False, groups="base.group_system")

    def init(self):
        res = super().init()
        # one open application per e-mail address, even when two arrive at the same moment
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS res_partner_crowd_applied_email_uniq
                   ON res_partner (email_normalized)
                WHERE crowd_state = 'applied' AND active AND email_normalized IS NOT NULL"""
        )
        return res

    # ------------------------------------------------------------------ constraints and CRUD

    @api.constrains("crowd_state", "crowd_state_reason")
    def _check_crowd_reject_reason(self):
        for partner in self:
            if partner.crowd_state == "rejected" and not (partner.crowd_state_reason or "").strip():
                raise ValidationError(
                    self.env._("Give the reason why the application of %s is rejected.", partner.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                if vals.get("crowd_state") in ("applied", "rejected") or vals.keys() & JOIN_SYSTEM_FIELDS:
                    raise AccessError(self.env._("Applications come from the public form or an invitation."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and vals.keys() & JOIN_SYSTEM_FIELDS:
            raise AccessError(self.env._("The application's dates and origin are recorded by the system."))
        # an application enters and leaves its states through the actions only (approve, reject), which
        # check the reviewer and the application; no direct write, not even a dispatcher's
        if "crowd_state" in vals and not self.env.su:
            if vals["crowd_state"] in ("applied", "rejected") or any(
                p.crowd_state in ("applied", "rejected") and p.crowd_state != vals["crowd_state"] for p in self
            ):
                raise AccessError(
                    self.env._("Applications are approved or rejected with the Approve and Reject buttons.")
                )
        return super().write(vals)

    # ------------------------------------------------------------------ the public application

    @api.model
    def _crowd_apply(self, values, ip_address=None):
        """Create an application from the public form's ``values`` (a dict; only ``APPLY_KEYS`` are read):

        - name, email (required), phone, company_name, street, zip, city, country_id;
        - latitude and longitude (both or neither), else the address is geocoded;
        - radius_km; skills: [(skill id, level id)] self-declared; certificates: [dict(type_id, number,
          expiry_date, filename, content (bytes))], each with its document (JPEG, PNG or PDF, limited size);
        - invite: the token of an invitation (pre-fills the form, grants nothing);
        - honeypot: a field people never see: when filled, nothing is created.

        Counts the attempt against the IP address's rate limit first (kept even when the application is
        refused); the application itself is created in a savepoint: refused, it leaves nothing.
        Returns the new applicant (an empty recordset for a honeypot hit).
        """
        if not isinstance(values, dict):
            raise ValidationError(self.env._("The application is a set of named values."))
        values = {key: values.get(key) for key in APPLY_KEYS}
        spam = bool(values["honeypot"])
        self.env["crowd.join.attempt"]._crowd_register(ip_address, spam=spam)
        if spam:
            _logger.info("Crowd application from %s dropped: honeypot filled", ip_address)
            return self.browse()
        with self.env.cr.savepoint():
            vals, skills, certificates = self._crowd_apply_check(values)
            inviter = self._crowd_join_invitation(values["invite"]).get("inviter") if values["invite"] else None
            inviter = self.env["res.users"].sudo().browse(inviter).exists() if inviter else None
            vals.update(
                is_crowd_expert=True,
                is_company=False,
                crowd_state="applied",
                crowd_kind="freelance",
                crowd_tier="technician",
                crowd_company_id=self.env.company.id,
                crowd_applied_on=fields.Datetime.now(),
                crowd_invited_by_id=inviter.id if inviter else False,
                crowd_applicant_ip=(ip_address or "")[:64] or False,
                lang=self.env.lang if self.env.lang in dict(self.env["res.lang"].get_installed()) else False,
            )
            try:
                with self.env.cr.savepoint():
                    # sudo: the public applicant creates no partner; every value was checked above
                    partner = self.sudo().create(vals)
                    self.env.flush_all()
            except psycopg2.errors.UniqueViolation:
                raise UserError(self._crowd_duplicate_message()) from None
            partner._crowd_apply_skills_certificates(skills, certificates)
            partner.message_post(
                body=self.env._("Application received from the public form."),
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            partner._crowd_send_confirmation()
        return partner

    def _crowd_duplicate_message(self):
        return self.env._(
            "An application or an account with this e-mail address already exists. If it is yours, "
            "look for our e-mail in your mailbox, or log in."
        )

    @api.model
    def _crowd_text(self, value, label, max_len, required=False):
        if value is None or value is False:
            value = ""
        if not isinstance(value, str):
            raise ValidationError(self.env._("%s must be a text.", label))
        value = " ".join(value.split())
        if required and not value:
            raise ValidationError(self.env._("%s is required.", label))
        if len(value) > max_len:
            raise ValidationError(self.env._("%(label)s has at most %(max)s characters.", label=label, max=max_len))
        return value

    @api.model
    def _crowd_id(self, value):
        """A positive database id from a form value, or None."""
        if isinstance(value, bool):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        return number if 0 < number < 2**31 else None

    @api.model
    def _crowd_apply_check(self, values):
        """(partner values, skill lines, certificates) from the form's values, or a clear error."""
        vals = {
            "name": self._crowd_text(values["name"], self.env._("Your name"), MAX_TEXT, required=True),
            "phone": self._crowd_text(values["phone"], self.env._("The phone number"), MAX_PHONE) or False,
            "crowd_applied_company": self._crowd_text(values["company_name"], self.env._("The company"), MAX_TEXT)
            or False,
            "street": self._crowd_text(values["street"], self.env._("The street"), MAX_TEXT) or False,
            "zip": self._crowd_text(values["zip"], self.env._("The postcode"), MAX_PHONE) or False,
            "city": self._crowd_text(values["city"], self.env._("The city"), MAX_TEXT) or False,
        }
        email = self._crowd_text(values["email"], self.env._("Your e-mail"), MAX_EMAIL, required=True)
        normalized = tools.email_normalize(email)
        if not normalized:
            raise ValidationError(self.env._("%s is not a valid e-mail address.", email))
        vals["email"] = normalized
        Users = self.env["res.users"].sudo().with_context(active_test=False)
        if Users.search_count(["|", ("login", "=ilike", normalized), ("email_normalized", "=", normalized)], limit=1):
            raise UserError(self._crowd_duplicate_message())
        if self.sudo().search_count([("email_normalized", "=", normalized), ("crowd_state", "=", "applied")], limit=1):
            raise UserError(self._crowd_duplicate_message())
        country = self.env["res.country"]
        if values["country_id"] not in (None, False, ""):
            country_id = self._crowd_id(values["country_id"])
            country = country.browse(country_id).exists() if country_id else country
            if not country:
                raise ValidationError(self.env._("Choose your country in the list."))
        vals["country_id"] = country.id or False
        vals["crowd_radius_km"] = self.env["crowd.job"]._crowd_number(
            values["radius_km"] if values["radius_km"] not in (None, "") else 30,
            self.env._("The radius in km"),
            1,
            MAX_RADIUS_KM,
        )
        vals.update(self._crowd_apply_position(values, vals, country))
        return (
            vals,
            self._crowd_apply_check_skills(values["skills"]),
            self._crowd_apply_check_certificates(values["certificates"]),
        )

    @api.model
    def _crowd_apply_position(self, values, vals, country):
        """The home base position: typed (or given by the phone), else geocoded from the address."""
        lat, lon = values["latitude"], values["longitude"]
        if lat not in (None, "") or lon not in (None, ""):
            return {
                "partner_latitude": self.env["crowd.job"]._crowd_number(lat, self.env._("The latitude"), -90, 90),
                "partner_longitude": self.env["crowd.job"]._crowd_number(lon, self.env._("The longitude"), -180, 180),
            }
        if not (vals["street"] or vals["zip"] or vals["city"]):
            raise ValidationError(self.env._("Give the address of your home base, or your position."))
        address = ", ".join(p for p in (vals["street"], vals["zip"], vals["city"], country.name) if p)
        position = self._crowd_geocode(address)
        if position is None:
            raise ValidationError(
                self.env._("We could not find %s on the map: check the address, or give your position.", address)
            )
        return {"partner_latitude": position[0], "partner_longitude": position[1]}

    @api.model
    def _crowd_geocoder(self):
        """The geopy geocoder of addresses (OpenStreetMap's Nominatim): override or patch it to use another
        one. None when geocoding is switched off (system parameter ``crowd_service_portal.join_geocoding``
        set to False) and in tests, which never call the network."""
        enabled = self.env["ir.config_parameter"].sudo().get_param(PARAM_GEOCODING, "True")
        if enabled.strip().lower() in ("0", "false", "no") or odoo_module.current_test:
            return None
        from geopy.geocoders import Nominatim  # noqa: PLC0415 (only loaded when an address is geocoded)

        return Nominatim(user_agent=f"crowd-service-odoo/{self.env.cr.dbname}", timeout=5)

    @api.model
    def _crowd_geocode(self, address):
        """(latitude, longitude) of ``address``, or None when it is not found or the geocoder is down."""
        geocoder = self._crowd_geocoder()
        if geocoder is None:
            return None
        from geopy.exc import GeopyError  # noqa: PLC0415

        try:
            location = geocoder.geocode(address)
        except GeopyError as exc:
            _logger.warning("Geocoding %r failed: %s", address, exc)
            return None
        if not location:
            return None
        return location.latitude, location.longitude

    @api.model
    def _crowd_apply_check_skills(self, skills):
        """[(skill, level)] from [(skill id, level id)]: each skill once, a level of the skill's type."""
        skills = skills or []
        if not isinstance(skills, (list, tuple)) or len(skills) > MAX_SKILLS:
            raise ValidationError(self.env._("Declare at most %s skills.", MAX_SKILLS))
        lines, seen = [], set()
        for item in skills:
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise ValidationError(self.env._("A skill is declared with its level."))
            skill_id, level_id = self._crowd_id(item[0]), self._crowd_id(item[1])
            # sudo: skills and levels are reference data that applicants choose from
            skill = self.env["crowd.skill"].sudo().browse(skill_id).exists() if skill_id else None
            level = self.env["crowd.skill.level"].sudo().browse(level_id).exists() if level_id else None
            if not skill or not level:
                raise ValidationError(self.env._("Choose your skills and levels in the lists."))
            if level.skill_type_id != skill.skill_type_id:
                raise ValidationError(
                    self.env._(
                        "The level %(level)s does not fit the skill %(skill)s.", level=level.name, skill=skill.name
                    )
                )
            if skill in seen:
                raise ValidationError(self.env._("The skill %s is declared twice.", skill.name))
            seen.add(skill)
            lines.append((skill, level))
        return lines

    @api.model
    def _crowd_max_file_bytes(self):
        value = self.env["ir.config_parameter"].sudo().get_param(PARAM_MAX_FILE_MB, DEFAULT_MAX_FILE_MB)
        try:
            return max(int(value), 1) * 1024 * 1024
        except (TypeError, ValueError):
            return DEFAULT_MAX_FILE_MB * 1024 * 1024

    @api.model
    def _crowd_apply_check_certificates(self, certificates):
        """Certificate values and their document, checked: type, number, dates, file type and size."""
        certificates = certificates or []
        if not isinstance(certificates, (list, tuple)) or len(certificates) > MAX_CERTIFICATES:
            raise ValidationError(self.env._("Send at most %s certificates.", MAX_CERTIFICATES))
        max_bytes = self._crowd_max_file_bytes()
        today = fields.Date.context_today(self)
        result = []
        for cert in certificates:
            if not isinstance(cert, dict):
                raise ValidationError(self.env._("A certificate is a set of named values."))
            type_id = self._crowd_id(cert.get("type_id"))
            # sudo: certificate types are reference data that applicants choose from
            cert_type = self.env["crowd.certificate.type"].sudo().browse(type_id).exists() if type_id else None
            if not cert_type:
                raise ValidationError(self.env._("Choose the type of each certificate."))
            number = self._crowd_text(cert.get("number"), self.env._("The certificate number"), MAX_CERT_NUMBER)
            expiry = None
            if cert.get("expiry_date"):
                try:
                    expiry = fields.Date.to_date(cert["expiry_date"])
                except (TypeError, ValueError):
                    raise ValidationError(self.env._("Dates are written YYYY-MM-DD.")) from None
                if expiry < today:
                    raise ValidationError(
                        self.env._("The certificate %(cert)s expired on %(date)s.", cert=cert_type.name, date=expiry)
                    )
            content = cert.get("content")
            if not isinstance(content, bytes) or not content:
                raise ValidationError(self.env._("Attach the document of the certificate %s.", cert_type.name))
            filename = self._crowd_text(cert.get("filename") or cert_type.name, self.env._("The file name"), 200)
            if len(content) > max_bytes:
                raise ValidationError(
                    self.env._("%(file)s is larger than %(mb)s MB.", file=filename, mb=max_bytes // (1024 * 1024))
                )
            # the type is what the bytes are, never what the file name or the browser claims
            mimetype = guess_mimetype(content)
            if mimetype not in REPORT_MIMETYPES:
                raise ValidationError(self.env._("%s is not a photo or a PDF (JPEG, PNG or PDF only).", filename))
            result.append(
                {
                    "type": cert_type,
                    "number": number or False,
                    "expiry_date": expiry or False,
                    "filename": filename,
                    "content": content,
                    "mimetype": mimetype,
                }
            )
        return result

    def _crowd_apply_skills_certificates(self, skills, certificates):
        self.ensure_one()
        # sudo: the applicant's own new profile; the lines were checked, they wait for a dispatcher's review
        self.env["crowd.expert.skill"].sudo().create(
            [{"partner_id": self.id, "skill_id": skill.id, "level_id": level.id} for skill, level in skills]
        )
        for cert in certificates:
            record = (
                self.env["crowd.expert.certificate"]
                .sudo()
                .create(
                    {
                        "partner_id": self.id,
                        "type_id": cert["type"].id,
                        "number": cert["number"],
                        "expiry_date": cert["expiry_date"],
                        "state": "pending",
                    }
                )
            )
            attachment = (
                self.env["ir.attachment"]
                .sudo()
                .create(
                    {
                        "name": cert["filename"],
                        "datas": base64.b64encode(cert["content"]),
                        "mimetype": cert["mimetype"],
                        "res_model": record._name,
                        "res_id": record.id,
                    }
                )
            )
            record.attachment_ids = [Command.link(attachment.id)]

    # ------------------------------------------------------------------ e-mail confirmation (auth_signup)

    def _crowd_join_confirm_url(self):
        """The confirmation link: Odoo's signup token of the applicant (auth_signup), on our page."""
        self.ensure_one()
        token = self.sudo()._generate_signup_token()
        return f"{self.get_base_url()}/crowd/join/confirm?{url_encode({'token': token})}"

    def _crowd_send_confirmation(self):
        """(Re)issue the applicant's signup token and e-mail the confirmation link."""
        template = self.env.ref("crowd_service_portal.mail_template_crowd_join_confirm")
        for partner in self:
            # sudo: signup_type is a system field; a new token for the applicant's own address
            partner.sudo().signup_prepare(signup_type="signup")
            template.sudo().with_context(crowd_join_url=partner._crowd_join_confirm_url()).send_mail(
                partner.id, email_layout_xmlid="mail.mail_notification_light"
            )

    @api.model
    def _crowd_join_from_token(self, token):
        """The applicant whose e-mail confirmation token this is (Odoo's signup token), or an empty set."""
        if not isinstance(token, str) or not token or len(token) > 512:
            return self.browse()
        # sudo: resolving a signup token reads the partner and its system fields
        partner = self.sudo()._get_partner_from_token(token)
        if not partner or not partner.is_crowd_expert or partner.crowd_state != "applied":
            return self.browse()
        return partner

    @api.model
    def _crowd_join_confirm(self, token, password, confirm_password):
        """The applicant confirms their e-mail and chooses a password: Odoo's signup with the token creates
        their user, archived until a dispatcher approves the application (see res.users)."""
        partner = self._crowd_join_from_token(token)
        if not partner:
            raise UserError(
                self.env._(
                    "This link is no longer valid. If you already confirmed your e-mail, we are reviewing your "
                    "application and will write to you."
                )
            )
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise ValidationError(self.env._("Choose a password of at least %s characters.", MIN_PASSWORD))
        if password != confirm_password:
            raise ValidationError(self.env._("The passwords do not match; type them again."))
        values = {"login": partner.email_normalized or partner.email, "password": password}
        if partner.lang:
            values["lang"] = partner.lang
        # sudo: the signup token was checked; Odoo's own signup consumes it and creates the user
        self.env["res.users"].sudo().signup(values, token)
        partner.sudo().write({"crowd_email_confirmed_on": fields.Datetime.now()})
        partner.sudo().message_post(
            body=self.env._("The applicant confirmed their e-mail address."),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        return partner

    def _crowd_join_user(self):
        """The applicant's user (archived until approval), if they confirmed their e-mail."""
        self.ensure_one()
        return (
            self.env["res.users"].sudo().with_context(active_test=False).search([("partner_id", "=", self.id)], limit=1)
        )

    # ------------------------------------------------------------------ invitations

    @api.model
    def _crowd_join_invite_token(self, name, email, company_name=False, skill_ids=()):
        """A signed link token carrying what pre-fills the form (it grants nothing)."""
        days = self.env["ir.config_parameter"].sudo().get_param(PARAM_INVITE_DAYS, DEFAULT_INVITE_DAYS)
        try:
            days = max(int(days), 1)
        except (TypeError, ValueError):
            days = DEFAULT_INVITE_DAYS
        payload = {"n": name, "e": email, "c": company_name or "", "s": list(skill_ids), "u": self.env.uid}
        return tools.hash_sign(self.sudo().env, INVITE_SCOPE, payload, expiration_hours=24 * days)

    @api.model
    def _crowd_join_invitation(self, token):
        """The pre-fill of a valid invitation token ({} when the token is invalid or expired): name, email,
        company_name, skill_ids and the inviting user's id."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            return {}
        try:
            payload = tools.verify_hash_signed(self.sudo().env, INVITE_SCOPE, token)
        except (ValueError, TypeError):
            payload = None
        if not isinstance(payload, dict):
            return {}
        skills = self.env["crowd.skill"].sudo().browse([s for s in payload.get("s") or [] if self._crowd_id(s)])
        return {
            "name": payload.get("n") or "",
            "email": payload.get("e") or "",
            "company_name": payload.get("c") or "",
            "skill_ids": skills.exists().ids,
            "inviter": self._crowd_id(payload.get("u")),
        }

    # ------------------------------------------------------------------ review

    def _crowd_check_reviewer(self):
        """Only crowd dispatchers who may edit these applicants (their pool company) review them."""
        self._crowd_check_pool_manager()
        self.check_access("write")
        for partner in self:
            if not partner.is_crowd_expert or partner.crowd_state != "applied":
                raise UserError(self.env._("%s has no application to review.", partner.display_name))

    def action_crowd_join_approve(self):
        """Approve the applications: the applicant's user gets portal access and the welcome e-mail with
        the onboarding checklist; the expert moves to onboarding."""
        self._crowd_check_reviewer()
        portal = self.env.ref("base.group_portal")
        template = self.env.ref("crowd_service_portal.mail_template_crowd_join_welcome")
        for partner in self:
            user = partner._crowd_join_user()
            if not user or not partner.crowd_email_confirmed_on:
                raise UserError(
                    self.env._(
                        "%s has not confirmed their e-mail address yet: resend the confirmation e-mail, "
                        "and approve once it is confirmed.",
                        partner.name,
                    )
                )
            if user._is_internal():
                raise UserError(
                    self.env._("%s already has an internal user: give portal access by hand.", partner.name)
                )
            missing = []
            if partner.crowd_skill_ids.filtered(lambda line: not line.verified):
                missing.append(self.env._("confirm or remove every declared skill level"))
            if partner.crowd_certificate_ids.filtered(lambda cert: cert.state == "pending"):
                missing.append(self.env._("verify or revoke every certificate"))
            if not (partner.partner_latitude or partner.partner_longitude):
                missing.append(self.env._("set the home base position"))
            if missing:
                raise UserError(
                    self.env._("Before approving %(name)s: %(todo)s.", name=partner.name, todo="; ".join(missing))
                )
            # sudo: the reviewer was checked above; users are the administrator's, the portal group is granted
            user.sudo().write({"active": True, "groups_id": [Command.link(portal.id)]})
            partner.sudo().write({"crowd_state": "onboarding", "crowd_state_reason": False})
            partner.message_post(
                body=self.env._("Application approved: portal access granted."), subtype_xmlid="mail.mt_note"
            )
            template.sudo().with_context(crowd_join_login_url=f"{partner.get_base_url()}/web/login").send_mail(
                partner.id, email_layout_xmlid="mail.mail_notification_light"
            )
        return True

    def action_crowd_join_reject(self, reason=None):
        """Reject the applications with a reason, which is e-mailed to the applicant."""
        self._crowd_check_reviewer()
        if not isinstance(reason, str) or not reason.strip():
            raise UserError(self.env._("Give the reason of the rejection: the applicant receives it by e-mail."))
        reason = reason.strip()[:1000]
        template = self.env.ref("crowd_service_portal.mail_template_crowd_join_reject")
        for partner in self:
            # sudo: the reviewer was checked above; the pending signup token is cancelled (a system field)
            partner.sudo().write({"crowd_state": "rejected", "crowd_state_reason": reason, "signup_type": False})
            partner.message_post(body=self.env._("Application rejected: %s", reason), subtype_xmlid="mail.mt_note")
            template.sudo().send_mail(partner.id, email_layout_xmlid="mail.mail_notification_light")
        return True

    def action_crowd_join_resend(self):
        """E-mail a new confirmation link to applicants who have not confirmed their address yet."""
        self._crowd_check_reviewer()
        confirmed = self.filtered("crowd_email_confirmed_on")
        if confirmed:
            raise UserError(self.env._("%s already confirmed their e-mail address.", confirmed[0].name))
        self._crowd_send_confirmation()
        return True
