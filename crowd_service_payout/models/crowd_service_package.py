from odoo import api, fields, models
from odoo.exceptions import ValidationError

# The criteria a package can set; each one that is set must match, and the package that
# matches the most of them wins (ties: lowest sequence, then oldest).
MATCH_CRITERIA = ("crowd_tier", "skill_id", "equipment_category_id", "maintenance_type", "company_id")


class CrowdServicePackage(models.Model):
    _name = "crowd.service.package"
    _description = "Crowd Service Package (fixed rate per job)"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10, help="Precedence among packages matching the same number of criteria.")
    company_id = fields.Many2one(
        "res.company", string="Company", index=True, help="Leave empty to use the package in every company."
    )
    product_id = fields.Many2one(
        "product.product",
        string="Service Product",
        required=True,
        check_company=True,
        domain="[('type', '=', 'service')]",
        default=lambda self: self.env.ref("crowd_service_payout.product_crowd_service_job", raise_if_not_found=False),
        help="Product used on the vendor bill lines (expense account, taxes).",
    )
    amount = fields.Monetary(required=True, help="Fixed rate paid per completed job.")
    # what the customer pays for the visit
    customer_product_id = fields.Many2one(
        "product.product",
        string="Customer Product",
        check_company=True,
        domain="[('type', '=', 'service'), ('sale_ok', '=', True)]",
        help="Product of the customer invoice line of the visit (income account, customer taxes). "
        "Without it, the visits of this package are not invoiced.",
    )
    customer_price_mode = fields.Selection(
        [("package", "Package price"), ("pricelist", "Customer's pricelist")],
        string="Customer Price From",
        default="package",
        required=True,
        help="Package price: the customer price below. Customer's pricelist: the price of the customer "
        "product in the customer's pricelist (its rules for the product, its category or all products), "
        "in the pricelist's currency; the package price when the customer has no pricelist.",
    )
    customer_price = fields.Monetary(string="Customer Price", help="Price of a visit for the customer, before taxes.")
    currency_id = fields.Many2one("res.currency", required=True, default=lambda self: self.env.company.currency_id)
    # match criteria
    crowd_tier = fields.Selection(
        selection=lambda self: self.env["res.partner"]._fields["crowd_tier"].selection, string="Tier"
    )
    skill_id = fields.Many2one("crowd.skill", string="Skill", help="Matches jobs requiring this skill.")
    equipment_category_id = fields.Many2one("maintenance.equipment.category", string="Equipment Category")
    maintenance_type = fields.Selection(
        selection=lambda self: self.env["maintenance.request"]._fields["maintenance_type"].selection,
        string="Maintenance Type",
    )
    # travel allowance
    travel_per_km = fields.Monetary(string="Travel Allowance per km")
    travel_threshold_km = fields.Float(
        string="Free Distance (km)", help="The allowance is paid for each km beyond this distance."
    )
    criteria_count = fields.Integer(compute="_compute_criteria_count")
    note = fields.Text()

    _sql_constraints = [
        ("amount_positive", "CHECK(amount >= 0)", "The rate of a service package cannot be negative."),
        (
            "customer_price_positive",
            "CHECK(COALESCE(customer_price, 0) >= 0)",
            "The customer price of a service package cannot be negative.",
        ),
        (
            "travel_positive",
            "CHECK(COALESCE(travel_per_km, 0) >= 0 AND COALESCE(travel_threshold_km, 0) >= 0)",
            "The travel allowance and its free distance cannot be negative.",
        ),
    ]

    @api.depends(*MATCH_CRITERIA)
    def _compute_criteria_count(self):
        for package in self:
            package.criteria_count = sum(1 for fname in MATCH_CRITERIA if package[fname])

    @api.constrains("product_id", "customer_product_id")
    def _check_product_id(self):
        for package in self:
            if (package.product_id | package.customer_product_id).filtered(lambda p: p.type != "service"):
                raise ValidationError(
                    self.env._("The products of package %(package)s must be services.", package=package.name)
                )

    # ------------------------------------------------------------------ matching
    def _match_score(self, job, expert):
        """Number of criteria of this package matched by (job, expert), or -1 when one of its
        criteria does not match."""
        self.ensure_one()
        request = job.request_id
        checks = {
            "crowd_tier": lambda: self.crowd_tier == expert.crowd_tier,
            "skill_id": lambda: self.skill_id in job.required_skill_ids.skill_id,
            "equipment_category_id": lambda: self.equipment_category_id
            in (request.category_id | job.equipment_id.category_id),
            "maintenance_type": lambda: self.maintenance_type == request.maintenance_type,
            "company_id": lambda: self.company_id == job.company_id,
        }
        score = 0
        for fname in MATCH_CRITERIA:
            if self[fname]:
                if not checks[fname]():
                    return -1
                score += 1
        return score

    @api.model
    def _find_best(self, job, expert, packages=None):
        """The most specific active package for an expert's job (or an empty recordset)."""
        if packages is None:
            packages = self.search([("company_id", "in", [job.company_id.id, False])])
        best, best_key = self.browse(), None
        for package in packages:  # already ordered by sequence, id
            score = package._match_score(job, expert)
            if score < 0:
                continue
            key = (-score, package.sequence, package.id)
            if best_key is None or key < best_key:
                best, best_key = package, key
        return best

    def _compute_pay(self, distance_km=0.0):
        """Base rate and travel allowance of this package, in the package currency."""
        self.ensure_one()
        travel = 0.0
        if self.travel_per_km and distance_km and distance_km > self.travel_threshold_km:
            travel = self.currency_id.round((distance_km - self.travel_threshold_km) * self.travel_per_km)
        return {"base_amount": self.amount, "travel_amount": travel, "amount": self.amount + travel}

    def _customer_price(self, customer, date, company):
        """(price, currency, pricelist) of a visit of this package for ``customer`` on ``date``."""
        self.ensure_one()
        pricelist = self.env["product.pricelist"]
        if self.customer_price_mode == "pricelist":
            pricelist = customer.with_company(company).property_product_pricelist
        if not pricelist:
            return self.customer_price, self.currency_id, pricelist
        price = pricelist._get_product_price(self.customer_product_id, 1.0, currency=pricelist.currency_id, date=date)
        return price, pricelist.currency_id, pricelist
