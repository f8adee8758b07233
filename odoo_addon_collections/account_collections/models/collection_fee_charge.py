"""Late fees and interest charged to customers: each engine fee line once posted, and its fee invoice."""

from datetime import date
from decimal import Decimal

from collections_engine.types import ChargedFee
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools.misc import format_amount, format_date


class CollectionFeeCharge(models.Model):
    """One late fee or one stretch of interest posted on a customer's fee invoice (an engine ``FeeLine``).

    The daily run gives every charge of the customers it plans back to the engine (``ChargedFee``): a
    line is never charged twice under one key and the caps count what was charged, waived charges too
    (a waived fee is not charged again).
    """

    _name = "collection.fee.charge"
    _description = "Collections Late Fee Charge"
    _order = "charged_on desc, id desc"
    _rec_name = "label"

    key = fields.Char(required=True, readonly=True, index=True, help="The engine's key of the fee line.")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, readonly=True, index=True)
    case_id = fields.Many2one("collection.case", string="Case", readonly=True, ondelete="set null")
    item_id = fields.Char(string="Item", required=True, readonly=True, help="The engine's id of the item charged.")
    move_line_id = fields.Many2one(
        "account.move.line", string="Instalment", readonly=True, ondelete="set null", help="The item charged."
    )
    source_move_id = fields.Many2one(
        "account.move", string="Invoice", readonly=True, ondelete="set null", help="The invoice paid late."
    )
    invoice_ref = fields.Char(string="Invoice Reference", readonly=True)
    kind = fields.Selection(
        [("fixed", "Fixed fee"), ("percentage", "Percentage fee"), ("interest", "Interest")],
        required=True,
        readonly=True,
    )
    level = fields.Char(string="Reminder Level", readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    amount = fields.Monetary(required=True, readonly=True)
    base = fields.Monetary(readonly=True, help="The overdue amount the fee or interest is on.")
    rate_pct = fields.Float(string="Rate (%)", digits=(16, 6), readonly=True)
    days = fields.Integer(readonly=True)
    period = fields.Date(required=True, readonly=True, help="First day of the period the line is for.")
    accrued_from = fields.Date(readonly=True)
    accrued_to = fields.Date(readonly=True)
    charged_on = fields.Date(required=True, readonly=True)
    label = fields.Char(readonly=True, help="The line as the customer reads it on the fee invoice.")
    reason = fields.Text(readonly=True, help="Why the engine charged it.")
    fee_move_id = fields.Many2one("account.move", string="Fee Invoice", readonly=True, index=True)
    fee_line_id = fields.Many2one("account.move.line", string="Fee Invoice Line", readonly=True)
    waived = fields.Boolean(readonly=True, help="Credited back; still counted as charged (never charged again).")
    waiver_reason = fields.Text(readonly=True)
    waiver_move_id = fields.Many2one("account.move", string="Waiver Credit Note", readonly=True)

    _sql_constraints = [
        ("key_company_uniq", "unique(company_id, key)", "A late fee is charged once per key and company."),
    ]

    @api.model
    def _engine_charged(self, company, partner_ids):
        """What was charged before to these customers, as the engine reads it (waived charges included)."""
        rows = self.search_read(
            [("company_id", "=", company.id), ("partner_id", "in", list(partner_ids))],
            ["key", "partner_id", "item_id", "kind", "currency_id", "amount", "period", "charged_on"],
        )
        currencies = {c.id: c for c in self.env["res.currency"].browse({r["currency_id"][0] for r in rows})}
        return [
            ChargedFee(
                key=row["key"],
                customer_id=str(row["partner_id"][0]),
                item_id=row["item_id"],
                kind=row["kind"],
                currency=currencies[row["currency_id"][0]].name,
                amount=Decimal(str(currencies[row["currency_id"][0]].round(row["amount"]))),
                period=row["period"],
                charged_on=row["charged_on"],
            )
            for row in rows
        ]

    @api.model
    def _label(self, line, lang):
        """The fee invoice's line for one engine ``FeeLine``, in the customer's language."""
        env = self.with_context(lang=lang).env
        invoice = line.invoice_ref
        if line.kind == "interest":
            return env._(
                "Interest %(start)s to %(end)s on %(invoice)s",
                start=format_date(env, line.accrued_from, lang_code=lang),
                end=format_date(env, line.accrued_to, lang_code=lang),
                invoice=invoice,
            )
        if line.kind == "percentage":
            return env._(
                "Late fee (%(rate)s%%) - %(invoice)s", rate=format(line.rate_pct.normalize(), "f"), invoice=invoice
            )
        if line.level:
            return env._("Late fee - %(invoice)s (level %(level)s)", invoice=invoice, level=line.level)
        return env._("Late fee - %(invoice)s", invoice=invoice)

    @api.model
    def _values(self, company, line, case, fee_move, currency, label, charged_on):
        """The charge of one engine ``FeeLine`` posted on ``fee_move``."""
        move_line = (
            self.env["account.move.line"].browse(int(line.item_id)).exists() if line.item_id.isdigit() else False
        )
        return {
            "key": line.key,
            "company_id": company.id,
            "partner_id": int(line.customer_id),
            "case_id": case.id if case else False,
            "item_id": line.item_id,
            "move_line_id": move_line.id if move_line else False,
            "source_move_id": move_line.move_id.id if move_line else False,
            "invoice_ref": line.invoice_ref,
            "kind": line.kind,
            "level": line.level or False,
            "currency_id": currency.id,
            "amount": float(line.amount),
            "base": float(line.base),
            "rate_pct": float(line.rate_pct) if line.rate_pct is not None else 0.0,
            "days": line.days,
            "period": line.period,
            "accrued_from": line.accrued_from or False,
            "accrued_to": line.accrued_to or False,
            "charged_on": charged_on if isinstance(charged_on, date) else fields.Date.to_date(charged_on),
            "label": label,
            "reason": line.reason,
            "fee_move_id": fee_move.id,
        }

    @api.model
    def _post(self, company, customer_fees, today, cases):
        """Post the engine's new fee lines: one customer invoice per customer and currency, one line per fee.

        ``customer_fees`` is what ``late_fees`` returned; ``cases`` maps partner ids to their case (the
        chatter says what was charged). Returns the posted fee invoices.
        """
        product = company.collection_fee_product_id
        journal = company.collection_fee_journal_id
        # what the run posts follows from the engine and the company's settings alone, not from who started
        # the run (the cron, Plan Now, a re-plan after a hand-over): posted as the system
        known = set(
            self.sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("key", "in", [line.key for fees in customer_fees for line in fees.lines]),
                ]
            )
            .mapped("key")
        )
        Move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
        )
        moves = self.env["account.move"]
        for fees in customer_fees:
            lines = [line for line in fees.lines if line.key not in known and line.amount > 0]
            if not lines:
                continue
            partner = self.env["res.partner"].browse(int(fees.customer_id))
            currency = self.env["res.currency"].with_context(active_test=False).search([("name", "=", fees.currency)])
            lang = partner.lang or self.env.lang
            labels = [self._label(line, lang) for line in lines]
            move = Move.create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "journal_id": journal.id,
                    "currency_id": currency.id,
                    "invoice_date": today,
                    "date": today,
                    "invoice_payment_term_id": False,  # due at once, whatever the customer's usual terms
                    "invoice_date_due": today,
                    "collection_is_fee": True,
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {"product_id": product.id, "name": label, "quantity": 1, "price_unit": float(line.amount)},
                        )
                        for line, label in zip(lines, labels, strict=True)
                    ],
                }
            )
            move.action_post()
            case = cases.get(partner.id)
            invoice_lines = move.invoice_line_ids.sorted("id")
            self.sudo().create(
                [
                    {**self._values(company, line, case, move, currency, label, today), "fee_line_id": fee_line.id}
                    for line, label, fee_line in zip(lines, labels, invoice_lines, strict=True)
                ]
            )
            summary = self.env._(
                "Late fees and interest charged: %(amount)s on %(invoice)s.",
                amount=format_amount(self.env, float(fees.total), currency),
                invoice=move.name,
            )
            move._message_log(body=summary)
            if case:
                case._message_log(body=Markup("%s<br/>%s") % (summary, Markup("<br/>").join(labels)))
            moves |= move
        return moves
