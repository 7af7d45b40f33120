from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

# the status and who verified: written by the actions (Verify, Revoke, Reset) and the expiry cron only
CERTIFICATE_STATUS_FIELDS = {"state", "verified_by_id", "verified_on"}


class CrowdExpertCertificate(models.Model):
    _name = "crowd.expert.certificate"
    _description = "Crowd Expert Certificate"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "expiry_date, id"
    _rec_name = "type_id"

    partner_id = fields.Many2one(
        "res.partner",
        string="Expert",
        required=True,
        ondelete="cascade",
        index=True,
        tracking=True,
        domain="[('is_crowd_expert', '=', True)]",
    )
    type_id = fields.Many2one(
        "crowd.certificate.type", string="Certificate Type", required=True, ondelete="restrict", tracking=True
    )
    number = fields.Char(tracking=True)
    issue_date = fields.Date(tracking=True)
    expiry_date = fields.Date(
        compute="_compute_expiry_date",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="The certificate is valid up to and including this day. Empty: it does not expire.",
    )
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "crowd_expert_certificate_attachment_rel",
        "certificate_id",
        "attachment_id",
        string="Documents",
    )
    state = fields.Selection(
        [
            ("pending", "To Verify"),
            ("verified", "Verified"),
            ("expired", "Expired"),
            ("revoked", "Revoked"),
        ],
        default="pending",
        required=True,
        tracking=True,
        copy=False,
    )
    verified_by_id = fields.Many2one("res.users", string="Verified By", readonly=True, copy=False)
    verified_on = fields.Date(readonly=True, copy=False)
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        domain="[('share', '=', False)]",
        help="Receives the renewal reminder; defaults to the company's crowd manager.",
    )
    company_id = fields.Many2one("res.company", related="partner_id.crowd_company_id", store=True, string="Company")
    is_blocking = fields.Boolean(
        compute="_compute_is_blocking",
        store=True,
        help="A blocking certificate does not qualify the expert: it is pending, expired, "
        "revoked or past its expiry date.",
    )
    reminder_scheduled = fields.Boolean(
        copy=False, help="Technical: the renewal reminder for the current expiry date was scheduled."
    )

    @api.depends("type_id", "issue_date")
    def _compute_expiry_date(self):
        for cert in self:
            if cert.issue_date and cert.type_id.validity_months and not cert.expiry_date:
                cert.expiry_date = cert.issue_date + relativedelta(months=cert.type_id.validity_months)

    @api.depends("state", "expiry_date")
    def _compute_is_blocking(self):
        today = fields.Date.context_today(self)
        for cert in self:
            cert.is_blocking = cert.state != "verified" or bool(cert.expiry_date and cert.expiry_date < today)

    @api.depends("type_id", "partner_id", "number")
    def _compute_display_name(self):
        for cert in self:
            parts = [cert.type_id.name or "", cert.partner_id.name or ""]
            cert.display_name = " - ".join(p for p in parts if p) + (f" ({cert.number})" if cert.number else "")

    @api.constrains("issue_date", "expiry_date")
    def _check_dates(self):
        for cert in self:
            if cert.issue_date and cert.expiry_date and cert.expiry_date < cert.issue_date:
                raise ValidationError(
                    self.env._(
                        "The certificate %(cert)s cannot expire (%(expiry)s) before it was issued (%(issue)s).",
                        cert=cert.type_id.name,
                        expiry=cert.expiry_date,
                        issue=cert.issue_date,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(
            vals.get("state", "pending") != "pending" or vals.get("verified_by_id") or vals.get("verified_on")
            for vals in vals_list
        ):
            raise AccessError(self.env._("A new certificate is to verify: use Verify once its document is checked."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and vals.keys() & CERTIFICATE_STATUS_FIELDS:
            raise AccessError(self.env._("A certificate's status changes through Verify, Revoke and Reset to pending."))
        if "expiry_date" in vals:
            vals["reminder_scheduled"] = False
        return super().write(vals)

    # ------------------------------------------------------------------ actions

    def action_verify(self):
        today = fields.Date.context_today(self)
        for cert in self:
            if cert.state not in ("pending", "expired"):
                raise UserError(self.env._("Only a certificate to verify can be verified (%s).", cert.display_name))
            if cert.type_id.document_required and not cert.attachment_ids:
                raise UserError(
                    self.env._("Attach the document of certificate %s before verifying it.", cert.display_name)
                )
            if cert.expiry_date and cert.expiry_date < today:
                raise UserError(
                    self.env._(
                        "Certificate %(cert)s expired on %(date)s: it cannot be verified.",
                        cert=cert.display_name,
                        date=cert.expiry_date,
                    )
                )
        self.check_access("write")
        # sudo: the caller's write access, the state, the document and the dates were checked above
        self.sudo().write({"state": "verified", "verified_by_id": self.env.user.id, "verified_on": today})
        return True

    def action_revoke(self):
        if self.filtered(lambda c: c.state == "revoked"):
            raise UserError(self.env._("This certificate is already revoked."))
        self.check_access("write")
        # sudo: the caller's write access was checked above
        self.sudo().write({"state": "revoked"})
        return True

    def action_reset_pending(self):
        self.check_access("write")
        # sudo: the caller's write access was checked above
        self.sudo().write({"state": "pending", "verified_by_id": False, "verified_on": False})
        return True

    # ------------------------------------------------------------------ business

    def _crowd_valid_on(self, date):
        """Return the certificates of ``self`` that qualify their expert on ``date``.

        A certificate qualifies when it is verified, was issued on or before ``date``
        (or has no issue date) and expires on or after ``date`` (or never expires):
        a certificate is still valid ON its expiry day and invalid the day after.
        Pending, expired and revoked certificates never qualify. Batch-friendly: no query.
        """
        date = fields.Date.to_date(date)
        return self.filtered(
            lambda c: c.state == "verified"
            and (not c.issue_date or c.issue_date <= date)
            and (not c.expiry_date or c.expiry_date >= date)
        )

    def _crowd_reminder_user(self):
        self.ensure_one()
        user = self.user_id or self.partner_id.crowd_company_id.crowd_manager_id
        if not user and self.partner_id.crowd_user_id and not self.partner_id.crowd_user_id.share:
            user = self.partner_id.crowd_user_id
        return user or self.env.user

    @api.model
    def _cron_expire_certificates(self):
        """Daily: expire certificates past their expiry day and schedule renewal reminders once."""
        today = fields.Date.context_today(self)
        expired = self.search([("state", "in", ("pending", "verified")), ("expiry_date", "<", today)])
        if expired:
            expired.write({"state": "expired"})
        # is_blocking depends on today: refresh the ones that became blocking by date only
        self.search([("is_blocking", "=", False), ("expiry_date", "<", today)])._compute_is_blocking()

        candidates = self.search(
            [
                ("state", "=", "verified"),
                ("reminder_scheduled", "=", False),
                ("expiry_date", ">=", today),
            ]
        )
        to_remind = candidates.filtered(lambda c: c.expiry_date - timedelta(days=c.type_id.reminder_days) <= today)
        for cert in to_remind:
            cert.activity_schedule(
                act_type_xmlid="mail.mail_activity_data_todo",
                date_deadline=cert.expiry_date,
                summary=self.env._("Renew certificate %s", cert.type_id.name),
                note=self.env._(
                    "The certificate %(cert)s of %(expert)s expires on %(date)s.",
                    cert=cert.type_id.name,
                    expert=cert.partner_id.name,
                    date=cert.expiry_date,
                ),
                user_id=cert._crowd_reminder_user().id,
            )
        to_remind.write({"reminder_scheduled": True})
        return True
