from urllib.parse import urlencode

from odoo import models


class CrowdJob(models.Model):
    """The customer hears about the visit by e-mail, with links that carry the job's portal access token."""

    _inherit = "crowd.job"

    def _crowd_tracking_url(self):
        """The customer's tracking page of this visit, opened without login by its access token."""
        self.ensure_one()
        query = urlencode({"access_token": self._portal_ensure_token()})
        return f"{self.get_base_url()}/my/service/{self.id}?{query}"

    def _crowd_portal_contact(self):
        """Who hears about the visit: the customer's portal user who reported the request, else the site,
        else the customer company (a partner with an e-mail, or none)."""
        self.ensure_one()
        reporter = self.request_id.create_uid
        if reporter.share and reporter.commercial_partner_id == self.customer_id and reporter.partner_id.email:
            return reporter.partner_id
        return (self.site_id | self.customer_id).filtered("email")[:1]

    def _crowd_site_contact(self):
        """Whom the expert calls on site: the customer's portal user who reported the request, else the site,
        else the customer company (a partner, or none). Read by the system for the job's page."""
        self.ensure_one()
        reporter = self.sudo().request_id.create_uid
        if reporter.share and reporter.commercial_partner_id == self.customer_id:
            return reporter.partner_id.sudo()
        return (self.site_id | self.customer_id).sudo()[:1]

    def _crowd_mail_customer(self, template_xmlid):
        """E-mail the customer's contact (system: called by the visit's actions, whoever triggered them)."""
        template = self.env.ref(template_xmlid, raise_if_not_found=False)
        if not template:
            return
        # sudo: the visit's action was checked; the message and its token links are written by the system
        for job in self.sudo():
            if job._crowd_portal_contact():
                # queued for the mail cron: no SMTP call in the expert's request
                job.with_context(mail_notify_force_send=False).message_post_with_source(
                    template,
                    email_layout_xmlid="mail.mail_notification_light",
                    subtype_xmlid="mail.mt_note",
                )

    def _crowd_assign(self, expert, now=None):
        result = super()._crowd_assign(expert, now=now)
        self._crowd_mail_customer("crowd_service_portal.mail_template_crowd_job_tracking")
        return result

    def _crowd_on_done(self):
        result = super()._crowd_on_done()
        self._crowd_mail_customer("crowd_service_portal.mail_template_crowd_job_done")
        return result
