from odoo import api, models
from odoo.tools.misc import formatLang


class CrowdDispatchEngine(models.AbstractModel):
    _inherit = "crowd.dispatch.engine"

    @api.model
    def _pay_line_text(self, line):
        """A pay rule's line reads the rule's label in the reader's language (the stored label when the
        rule is gone)."""
        if line.get("code") == "rule" and line.get("rule_id"):
            # sudo: the label of a rate rule, shown with an offer or payout the reader may see
            rule = self.env["crowd.pay.rule"].sudo().with_context(active_test=False).browse(line["rule_id"]).exists()
            if rule:
                line = dict(line, label=rule.label)
        return super()._pay_line_text(line)

    @api.model
    def _wait_text(self, code, params, wait_until, now=None):
        if code != "pay_approval":
            return super()._wait_text(code, params, wait_until, now=now)
        params = dict(params or {})
        currency = self.env.company.currency_id
        return self.env._(
            "The next offer would pay %(amount)s, above the cost ceiling of %(ceiling)s: waiting for a "
            "dispatcher to approve the pay.",
            amount=formatLang(self.env, float(params.get("amount") or 0.0), currency_obj=currency),
            ceiling=formatLang(self.env, float(params.get("ceiling") or 0.0), currency_obj=currency),
        )
