from collections import defaultdict

from odoo import api, fields, models, modules
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

# Context value that lets _write_workflow() through write(): an object, which no JSON (RPC,
# portal form) can carry, so no caller can forge it (as OCA queue_job's EDIT_SENTINEL).
WORKFLOW_SENTINEL = object()
# Records put on moves per transaction by the crons (whole partners per chunk).
CRON_CHUNK = 2000


class CrowdMoveSource(models.AbstractModel):
    """A crowd record that lands on a line of an account.move: a payout on a vendor bill (a line
    each), a customer charge on a customer invoice (like visits share a line). What the two share lives here:

    - workflow fields (state, move link...) written by the action methods only, through
      ``_write_workflow()`` and a sentinel no JSON request can carry;
    - the amount in the company currency;
    - the run that puts them on moves, for the wizard and the cron alike: the records are locked
      (``FOR UPDATE SKIP LOCKED``) and re-checked inside the lock, grouped per company, partner,
      currency and month, one move per group built by the model's ``_prepare_move()`` (as purchase's
      ``_prepare_invoice``), created in one batch per company, linked line by line, and posted;
    - following the move afterwards: paid, released when the move is cancelled, reset, deleted
      or fully reversed, taken back when a draft move is posted again."""

    _name = "crowd.move.source"
    _description = "Crowd Record Billed or Invoiced through an Account Move"

    # set by each model
    _workflow_fields = frozenset()  # written only through _write_workflow()
    _move_type = "in_invoice"
    _move_ready_state = "approved"  # records in this state, without a move line, can go on a move
    _move_done_state = "billed"  # once on a move
    _move_partner_field = "partner_id"  # partner of the move
    _move_origin_field = None  # account.move.line field pointing back at the record
    _move_auto_post_field = None  # res.company boolean: post the moves the run creates

    company_id = fields.Many2one("res.company", required=True, index=True)
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    currency_id = fields.Many2one("res.currency", required=True)
    amount = fields.Monetary(required=True)
    amount_company = fields.Monetary(
        string="Amount (Company Currency)",
        currency_field="company_currency_id",
        compute="_compute_amount_company",
        store=True,
    )
    date = fields.Date(required=True, default=fields.Date.context_today, index=True)
    move_line_id = fields.Many2one(
        "account.move.line", readonly=True, copy=False, index="btree_not_null", ondelete="set null"
    )
    move_id = fields.Many2one(related="move_line_id.move_id", store=True, index="btree_not_null")
    payment_state = fields.Selection(related="move_id.payment_state", string="Payment Status")

    @api.depends("amount", "currency_id", "company_id", "date")
    def _compute_amount_company(self):
        for record in self:
            record.amount_company = record._convert_to(record.company_id.currency_id)

    def _convert_to(self, currency):
        self.ensure_one()
        if not currency or self.currency_id == currency:
            return self.amount
        return self.currency_id._convert(
            self.amount, currency, self.company_id or self.env.company, self.date or fields.Date.today()
        )

    # ------------------------------------------------------------------ workflow fields
    def _check_workflow_vals(self, vals):
        """States and move links change through the action methods only (they call
        _write_workflow), so no write or create over RPC, whatever its context, goes around the
        rules of those methods."""
        fnames = self._workflow_fields.intersection(vals)
        if fnames and not self.env.su and self.env.context.get("crowd_workflow") is not WORKFLOW_SENTINEL:
            raise AccessError(
                self.env._(
                    "Use the buttons to change %(fields)s.",
                    fields=", ".join(sorted(self._fields[f].string for f in fnames)),
                )
            )

    def _write_workflow(self, vals):
        """Write workflow fields; for the action methods, after their own checks. Access rights
        and record rules still apply (callers sudo() where the system acts)."""
        return self.with_context(crowd_workflow=WORKFLOW_SENTINEL).write(vals) if self else True

    # ------------------------------------------------------------------ moves
    def _check_move_rights(self):
        """Raise an AccessError unless the current user may put these records on moves."""
        raise NotImplementedError

    def _move_journal(self, company):
        """The journal of the moves of ``company``."""
        raise NotImplementedError

    def _prepare_move(self, journal):
        """Values of the move of these records (one company, partner, currency and month)."""
        raise NotImplementedError

    def _move_log_body(self):
        """What the move's chatter says it was made from."""
        raise NotImplementedError

    def _prepare_move_common(self, journal, label):
        """The values every crowd move has, as purchase's and sale's ``_prepare_invoice``: fiscal
        position, payment terms, accounts and taxes are left to account.move and its lines, which
        compute them from the partner and the products."""
        period = self[0].date.strftime("%Y-%m")
        return {
            "move_type": self._move_type,
            "company_id": self.company_id.id,
            "journal_id": journal.id,
            "partner_id": self[self._move_partner_field].id,
            "currency_id": self.currency_id.id,
            "ref": self.env._("%(label)s %(period)s (%(first)s)", label=label, period=period, first=self[0].name),
            "invoice_origin": self.env._("%(label)s %(period)s", label=label, period=period),
            "invoice_line_ids": [
                fields.Command.create(group._prepare_account_move_line()) for group in self._line_groups()
            ],
        }

    def _line_groups(self):
        """The records of one move, in groups that each make one line (``_prepare_account_move_line``
        of the group): one line per record unless the model groups them."""
        return list(self)

    def _prepare_move_line_common(self, product, name, price_unit, analytic=None):
        """An invoice or bill line of these records (one unit each, at ``price_unit``): the product
        gives the account and, through the move's fiscal position, the taxes."""
        many = self.env["account.move.line"]._fields[self._move_origin_field].type == "many2many"
        vals = {
            "display_type": "product",
            "product_id": product.id,
            "name": name,
            "quantity": float(len(self)),
            "price_unit": price_unit,
            self._move_origin_field: [fields.Command.set(self.ids)] if many else self.ensure_one().id,
        }
        if analytic:
            vals["analytic_distribution"] = {str(analytic.id): 100.0}
        return vals

    def _prefill_line_amounts(self, move_vals, company):
        """Give the lines of ``move_vals`` the amounts and tax tags account.move would write on them.

        After creating an invoice, account.move's ``_sync_tax_lines`` computes every product line's
        balance, amount in currency and tax tags, and writes each line whose stored values differ:
        one ``write()`` per line, most of the time of a run of thousands of lines. The same
        account.tax computation (``_prepare_tax_lines``, over all the lines of the move, so with the
        company's rounding method) done here beforehand leaves it nothing to write. Only a hint:
        account.move still recomputes and writes any line whose values differ (other taxes, early
        payment discount...). Moves in a foreign currency are left to account.move (rate)."""
        move_type = move_vals.get("move_type")
        if move_type not in ("out_invoice", "in_invoice") or move_vals.get("currency_id") != company.currency_id.id:
            return move_vals
        line_vals_list = [command[2] for command in move_vals.get("invoice_line_ids", ())]
        if not line_vals_list or any(vals.get("display_type", "product") != "product" for vals in line_vals_list):
            return move_vals
        AccountTax = self.env["account.tax"]
        partner = self.env["res.partner"].browse(move_vals["partner_id"])
        fiscal_position = self.env["account.fiscal.position"].with_company(company)._get_fiscal_position(partner)
        tax_field = "taxes_id" if move_type == "out_invoice" else "supplier_taxes_id"
        company_domain = AccountTax._check_company_domain(company)
        base_lines = []
        for vals in line_vals_list:
            # the taxes of account.move.line._get_computed_taxes()
            product = self.env["product.product"].browse(vals["product_id"])
            taxes = product[tax_field].filtered_domain(company_domain)._filter_taxes_by_company(company)
            if taxes and fiscal_position:
                taxes = fiscal_position.map_tax(taxes)
            base_lines.append(
                AccountTax._prepare_base_line_for_taxes_computation(
                    None,
                    product_id=product,
                    partner_id=partner,
                    tax_ids=taxes,
                    price_unit=vals["price_unit"],
                    quantity=vals["quantity"],
                    discount=vals.get("discount", 0.0),
                    currency_id=company.currency_id,
                    rate=1.0,
                    sign=-1 if move_type == "out_invoice" else 1,
                    special_mode=False,
                )
            )
        AccountTax._add_tax_details_in_base_lines(base_lines, company)
        AccountTax._round_base_lines_tax_details(base_lines, company)
        # include_caba_tags: an invoice's always_tax_exigible, always False
        AccountTax._add_accounting_data_in_base_lines_tax_details(base_lines, company, include_caba_tags=False)
        to_update = AccountTax._prepare_tax_lines(base_lines, company)["base_lines_to_update"]
        for vals, (_base_line, amounts) in zip(line_vals_list, to_update, strict=True):
            vals.update(amounts)
        return move_vals

    def _find_journal(self, company, journal, journal_type):
        """``journal`` (the company's setting) or the first journal of ``journal_type``."""
        journal = journal or self.env["account.journal"].search(
            [*self.env["account.journal"]._check_company_domain(company), ("type", "=", journal_type)], limit=1
        )
        if not journal:
            raise UserError(
                self.env._(
                    "Company %(company)s has no %(type)s journal for crowd invoices and bills.",
                    company=company.name,
                    type=dict(journal._fields["type"]._description_selection(self.env))[journal_type],
                )
            )
        return journal

    def _lock_for_moves(self):
        """Lock the records of self ready for a move and return them; rows locked by a concurrent
        run are skipped, and the state is re-checked inside the lock."""
        if not self:
            return self
        self.flush_model(["state", "move_line_id"])
        rows = self.env.execute_query(
            SQL(
                """SELECT id FROM %s
                    WHERE id IN %s AND state = %s AND move_line_id IS NULL
                    ORDER BY id
                      FOR UPDATE SKIP LOCKED""",
                SQL.identifier(self._table),
                tuple(self.ids),
                self._move_ready_state,
            )
        )
        locked = self.browse([r[0] for r in rows])
        locked.invalidate_recordset(["state", "move_line_id"])
        return locked.filtered(lambda r: r.state == self._move_ready_state and not r.move_line_id)

    def _move_group_key(self):
        self.ensure_one()
        return (self.company_id, self[self._move_partner_field], self.currency_id, self.date.strftime("%Y-%m"))

    def _create_moves(self, post=None):
        """Group the ready records of self per company, partner, currency and month into moves, one
        line per record or per group of like records (``_line_groups``), and mark them done.
        Returns the moves; ``post``: None posts as the company's setting says, True or False always
        or never.

        Safe against double clicks, retries and concurrent runs: the records are locked (SKIP
        LOCKED) and their state re-checked inside the lock."""
        if not self.env.su:
            self._check_move_rights()
            self.check_access("write")
        # sudo: access was checked above; partners, requests and equipment of the records may be
        # outside the user's record rules, and the move lines carry the origin link (system field).
        records = self.sudo()._lock_for_moves()
        if not records:
            return self.env["account.move"]
        groups = records.sorted(lambda r: (r.date, r.id)).grouped(lambda r: r._move_group_key())
        by_company = defaultdict(list)
        for key, group in groups.items():
            by_company[key[0]].append(group)
        # No field tracking, "created" note or notification while the moves are created (thousands
        # of lines): one batch create per company, and each move logs what it is made from.
        Move = records.env["account.move"].with_context(
            default_move_type=self._move_type, tracking_disable=True, mail_create_nolog=True, mail_notrack=True
        )
        moves = records.env["account.move"]
        for company, company_groups in by_company.items():
            journal = records._move_journal(company)
            vals_list = [group._prepare_move(journal) for group in company_groups]
            for vals in vals_list:
                records._prefill_line_amounts(vals, company)
            company_moves = Move.with_company(company).create(vals_list)
            company_moves._message_log_batch(
                bodies={
                    move.id: group._move_log_body() for move, group in zip(company_moves, company_groups, strict=True)
                }
            )
            moves |= company_moves
        # one batched state change; the move's chatter says what it is made from
        records.with_context(tracking_disable=True)._write_workflow({"state": self._move_done_state})
        for line in moves.invoice_line_ids:
            line[self._move_origin_field]._write_workflow({"move_line_id": line.id})
        if post is None:
            to_post = moves.filtered(lambda m: m.company_id[self._move_auto_post_field])
        else:
            to_post = moves if post else moves.browse()
        if to_post:
            to_post.action_post()
        return moves.with_env(self.env)

    @api.model
    def _cron_create_moves(self, method, chunk_size=CRON_CHUNK):
        """Put the ready records of the months that are over on moves with the model's ``method``,
        one transaction per company and per chunk of about ``chunk_size`` records (whole partners:
        a move is never split)."""
        month_start = fields.Date.start_of(fields.Date.context_today(self), "month")
        domain = [("state", "=", self._move_ready_state), ("move_line_id", "=", False), ("date", "<", month_start)]
        # a system job: every company with records to bill, whatever the cron user's companies
        Source = self.sudo()
        for (company,) in Source._read_group(domain, ["company_id"]):
            records = Source.with_company(company).search(
                [*domain, ("company_id", "=", company.id)], order=f"{self._move_partner_field}, id"
            )
            for chunk in records._split_by_partner(chunk_size):
                getattr(chunk, method)()
                if not modules.module.current_test:
                    self.env.cr.commit()  # pylint: disable=invalid-commit

    def _split_by_partner(self, chunk_size):
        """These records in chunks of about ``chunk_size``, cut only between partners."""
        chunks, chunk = [], self.browse()
        for records in self.grouped(self._move_partner_field).values():
            if chunk and len(chunk) + len(records) > chunk_size:
                chunks.append(chunk)
                chunk = self.browse()
            chunk |= records
        return [*chunks, chunk] if chunk else chunks

    def _release_message(self):
        raise NotImplementedError

    def _release_from_move(self):
        """The move of these records was cancelled, reset to draft, deleted or fully reversed:
        they are ready again, and can go on another move."""
        records = self.filtered(lambda r: r.state in (self._move_done_state, "paid"))
        records._write_workflow({"state": self._move_ready_state, "move_line_id": False})
        for record in records:
            record.message_post(body=record._release_message())
        return records

    def _mark_paid(self):
        """The move of these records is paid."""
        self.filtered(lambda r: r.state == self._move_done_state)._write_workflow({"state": "paid"})

    def _mark_unpaid(self):
        """The payment of their move was undone."""
        self.filtered(
            lambda r: r.state == "paid" and r.move_id.payment_state not in ("paid", "in_payment")
        )._write_workflow({"state": self._move_done_state})

    def _take_back(self, line):
        """A draft move that released these records is posted again: its ``line`` takes them back,
        unless one of them went on another move meanwhile (never on two)."""
        records = self.filtered(lambda r: r.move_line_id != line)
        elsewhere = records.filtered(lambda r: r.state != self._move_ready_state or r.move_line_id)[:1]
        if elsewhere:
            raise UserError(
                self.env._(
                    "Line “%(line)s” is for %(record)s, which is %(state)s elsewhere: remove the line before posting.",
                    line=line.name,
                    record=elsewhere.name,
                    state=dict(self._fields["state"]._description_selection(self.env))[elsewhere.state],
                )
            )
        records._write_workflow({"state": self._move_done_state, "move_line_id": line.id})
