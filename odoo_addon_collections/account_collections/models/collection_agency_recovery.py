"""What an agency recovered on a case: the customer's payment, the agency's commission and its bill."""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_round


class CollectionAgencyRecovery(models.Model):
    _name = "collection.agency.recovery"
    _description = "Agency Recovery"
    _order = "date desc, id desc"

    case_id = fields.Many2one("collection.case", required=True, index=True, readonly=True, ondelete="restrict")
    partner_id = fields.Many2one(related="case_id.partner_id", string="Customer", store=True)
    agency_id = fields.Many2one("collection.agency", required=True, index=True, readonly=True, ondelete="restrict")
    company_id = fields.Many2one(related="case_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(required=True, readonly=True)
    amount = fields.Monetary(required=True, readonly=True, help="What the customer paid through the agency.")
    commission_pct = fields.Float(
        string="Commission (%)", digits=(5, 2), readonly=True, help="The agency's rate on the day of the recovery."
    )
    commission_amount = fields.Monetary(string="Commission", readonly=True)
    payment_id = fields.Many2one("account.payment", string="Payment", readonly=True)
    bill_id = fields.Many2one("account.move", string="Commission Bill", readonly=True)
    note = fields.Text(readonly=True)

    @api.model
    def _record(self, case, amount, date, journal=None, note=False):
        """Post the customer's payment, settle the handed-over items oldest due first, bill the commission."""
        agency = case.agency_id
        if not agency:
            raise UserError(self.env._("%(case)s is not with a collection agency.", case=case.display_name))
        currency = case.company_id.currency_id
        lines = case._agency_open_lines()
        open_amount = sum(lines.mapped("amount_residual"))
        if float_compare(amount, 0.0, precision_rounding=currency.rounding) <= 0:
            raise UserError(self.env._("The amount recovered must be positive."))
        if float_compare(amount, open_amount, precision_rounding=currency.rounding) > 0:
            raise UserError(
                self.env._(
                    "The agency cannot have recovered %(amount)s: the items handed over to it owe %(open)s.",
                    amount=currency.format(amount),
                    open=currency.format(open_amount),
                )
            )
        payment = self._post_payment(case, amount, date, journal)
        self._settle_oldest_first(payment, lines)
        commission = float_round(amount * agency.commission_pct / 100, precision_rounding=currency.rounding)
        recovery = self.create(
            {
                "case_id": case.id,
                "agency_id": agency.id,
                "date": date,
                "amount": amount,
                "commission_pct": agency.commission_pct,
                "commission_amount": commission,
                "payment_id": payment.id,
                "note": note,
            }
        )
        if agency.commission_product_id and commission:
            recovery.bill_id = recovery._commission_bill()
        case._message_log(
            body=self.env._(
                "%(agency)s recovered %(amount)s (payment %(payment)s); its commission: %(commission)s (%(pct)s %%).",
                agency=agency.display_name,
                amount=currency.format(amount),
                payment=payment.display_name,
                commission=currency.format(commission),
                pct=agency.commission_pct,
            )
        )
        return recovery

    @api.model
    def _post_payment(self, case, amount, date, journal):
        journal = journal or self.env["account.journal"].search(
            [("company_id", "=", case.company_id.id), ("type", "=", "bank")], limit=1
        )
        if not journal:
            raise UserError(self.env._("Set up a bank journal to record the agency's recoveries."))
        payment = (
            self.env["account.payment"]
            .with_company(case.company_id)
            .create(
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": case.partner_id.commercial_partner_id.id,
                    "amount": amount,
                    "date": date,
                    "journal_id": journal.id,
                    "memo": self.env._("Recovered by %(agency)s", agency=case.agency_id.display_name),
                }
            )
        )
        payment.action_post()
        return payment

    @api.model
    def _settle_oldest_first(self, payment, lines):
        """Reconcile the payment with the items one by one, oldest due first (a partial amount on the oldest)."""
        credit = payment.move_id.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")
        for line in lines.sorted(lambda line: (line.date_maturity or line.date, line.id)):
            if credit.reconciled or line.account_id != credit.account_id:
                continue
            (credit | line).reconcile()

    def _commission_bill(self):
        self.ensure_one()
        agency = self.agency_id
        return (
            self.env["account.move"]
            .with_company(self.company_id)
            .create(
                {
                    "move_type": "in_invoice",
                    "partner_id": agency.partner_id.id,
                    "invoice_date": self.date,
                    "invoice_origin": self.case_id.partner_id.display_name,
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {
                                "product_id": agency.commission_product_id.id,
                                "name": self.env._(
                                    "Collection commission: %(customer)s, %(amount)s recovered",
                                    customer=self.case_id.partner_id.display_name,
                                    amount=self.currency_id.format(self.amount),
                                ),
                                "quantity": 1,
                                "price_unit": self.commission_amount,
                            },
                        )
                    ],
                }
            )
        )
