from odoo import fields, models


class CrowdCertificateType(models.Model):
    _name = "crowd.certificate.type"
    _description = "Crowd Certificate Type"
    _order = "name, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True)
    active = fields.Boolean(default=True)
    validity_months = fields.Integer(
        string="Validity (months)",
        help="Default validity of a new certificate of this type; 0 means it does not expire.",
    )
    document_required = fields.Boolean(help="A scan of the certificate must be attached before it can be verified.")
    issuing_body = fields.Char()
    reminder_days = fields.Integer(
        default=30, help="Days before expiry at which a renewal reminder activity is scheduled."
    )
    company_id = fields.Many2one("res.company", string="Company")
    description = fields.Text(translate=True)

    _sql_constraints = [
        ("code_unique", "unique(code)", "The code of a certificate type must be unique."),
        ("validity_positive", "CHECK(validity_months >= 0)", "The validity cannot be negative."),
        ("reminder_positive", "CHECK(reminder_days >= 0)", "The reminder delay cannot be negative."),
    ]
