from odoo import Command, fields, models
from odoo.exceptions import AccessError, ValidationError

from odoo.addons.crowd_service.models.crowd_job import REPORT_MIMETYPES

MAX_NUMBER = 64


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _crowd_check_own_expert(self):
        """Only an expert acts on their own profile (the user's partner)."""
        self.ensure_one()
        # sudo: the crowd fields of a partner are for crowd staff; the user's own partner is read
        if self != self.env.user.partner_id or not self.sudo().is_crowd_expert:
            raise AccessError(self.env._("Only an expert changes their own profile."))

    def crowd_portal_set_online(self, online, latitude=None, longitude=None):
        """The expert goes online or offline, optionally telling where they are (both coordinates)."""
        self._crowd_check_own_expert()
        if not isinstance(online, bool):
            raise ValidationError(self.env._("Online is yes or no."))
        lat = lon = None
        if latitude is not None or longitude is not None:
            number = self.env["crowd.job"]._crowd_number
            lat = number(latitude, self.env._("The latitude"), -90, 90)
            lon = number(longitude, self.env._("The longitude"), -180, 180)
        # sudo: the user's own expert profile (checked above); experts cannot write partners
        return self.sudo().crowd_set_online(online, lat=lat, lon=lon)

    def crowd_portal_submit_certificate(self, type_id, number=None, issue_date=None, expiry_date=None,
                                        attachment_ids=None):  # fmt: skip
        """The expert adds a certificate to their own profile; it waits for a dispatcher's verification.

        ``attachment_ids``: the expert's own, unlinked uploads (JPEG, PNG or PDF), at least one.
        """
        self._crowd_check_own_expert()
        cert_type = self.env["crowd.certificate.type"]
        if isinstance(type_id, int) and not isinstance(type_id, bool) and 0 < type_id < 2**31:
            # sudo: certificate types are reference data experts may choose from
            cert_type = cert_type.sudo().browse(type_id).exists()
        if not cert_type:
            raise ValidationError(self.env._("Choose the type of certificate."))
        if number is not None and not isinstance(number, str):
            raise ValidationError(self.env._("The certificate number is a text."))
        if number and len(number.strip()) > MAX_NUMBER:
            raise ValidationError(self.env._("The certificate number has at most %s characters.", MAX_NUMBER))
        dates = {}
        for key, value in (("issue_date", issue_date), ("expiry_date", expiry_date)):
            if value:
                try:
                    dates[key] = fields.Date.to_date(value)
                except (TypeError, ValueError):
                    raise ValidationError(self.env._("Dates are written YYYY-MM-DD.")) from None
        attachments = self._crowd_check_uploads(attachment_ids or [])
        if not attachments:
            raise ValidationError(self.env._("Attach the certificate document."))
        # sudo: experts cannot create certificates; the expert, the type, the values and the files were checked
        cert = (
            self.env["crowd.expert.certificate"]
            .sudo()
            .create(
                {
                    "partner_id": self.id,
                    "type_id": cert_type.id,
                    "number": (number or "").strip() or False,
                    "state": "pending",
                    **dates,
                }
            )
        )
        attachments.write({"res_model": cert._name, "res_id": cert.id})
        cert.attachment_ids = [Command.link(aid) for aid in attachments.ids]
        return cert.id

    def _crowd_check_uploads(self, attachment_ids):
        """The caller's own unlinked uploads of an allowed type (JPEG, PNG, PDF), as sudo records."""
        if not isinstance(attachment_ids, (list, tuple)) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 0 < a < 2**31 for a in attachment_ids
        ):
            raise ValidationError(self.env._("The documents are a list of ids."))
        # sudo: read the attachments to check them; they must be the caller's own
        attachments = self.env["ir.attachment"].sudo().browse(attachment_ids).exists()
        if len(attachments) != len(set(attachment_ids)):
            raise ValidationError(self.env._("A document does not exist."))
        for attachment in attachments:
            if attachment.create_uid != self.env.user or attachment.res_id:
                raise AccessError(self.env._("You can only attach your own new uploads."))
            if attachment.mimetype not in REPORT_MIMETYPES:
                raise ValidationError(
                    self.env._("%s is not a photo or a PDF (JPEG, PNG or PDF only).", attachment.name)
                )
        return attachments
