import logging

from odoo import fields, models
from odoo.tools.misc import format_amount

_logger = logging.getLogger(__name__)


class PaymentTransaction(models.Model):
    """An online payment made from the customer's Payments Due page remembers the receivable lines it pays."""

    _inherit = "payment.transaction"

    collection_case_id = fields.Many2one(
        "collection.case", string="Collection Case", readonly=True, index="btree_not_null"
    )
    collection_line_ids = fields.Many2many(
        "account.move.line",
        "collection_transaction_line_rel",
        "transaction_id",
        "line_id",
        string="Items Paid",
        readonly=True,
        copy=False,
        help="The receivable lines (one per instalment) the payment is reconciled with, oldest due date first.",
    )
    collection_credit_line_ids = fields.Many2many(
        "account.move.line",
        "collection_transaction_credit_rel",
        "transaction_id",
        "line_id",
        string="Credits Applied",
        readonly=True,
        copy=False,
        help="Credit notes and unapplied payments deducted from the amount paid (credits deducted in reminders).",
    )

    # ------------------------------------------------------------
    # POST-PROCESSING
    # ------------------------------------------------------------

    def _create_payment(self, **extra_create_values):
        """Reconcile the payment with exactly the chosen lines (Odoo reconciles invoices, all their lines)."""
        payment = super()._create_payment(**extra_create_values)
        if self.collection_line_ids:
            self._collection_reconcile(payment)
        return payment

    def _collection_reconcile(self, payment):
        """Apply the credits, then the payment, to the chosen lines still open, oldest due date first.

        A partial amount settles the oldest lines and leaves the rest open; what a line paid
        meanwhile leaves over stays on the customer's account as an unapplied payment.
        """
        self.ensure_one()
        account = payment.destination_account_id
        debits = self.collection_line_ids.filtered(
            lambda line: line.account_id == account and not line.reconciled and line.amount_residual > 0
        ).sorted(lambda line: (line.date_maturity or line.date, line.id))
        credit_lines = self.collection_credit_line_ids.filtered(
            lambda line: line.account_id == account and not line.reconciled and line.amount_residual < 0
        ).sorted(lambda line: (line.date_maturity or line.date, line.id))
        paying = payment.move_id.line_ids.filtered(lambda line: line.account_id == account and not line.reconciled)
        for credit in [*credit_lines, *paying]:
            for debit in debits:
                if credit.reconciled:
                    break
                if not debit.reconciled:
                    (debit | credit).reconcile()

    def _post_process(self):
        """Once paid: the case's amounts and stage at once, and its collector told."""
        result = super()._post_process()
        for tx in self.filtered(lambda t: t.state == "done" and t.collection_case_id and t.payment_id):
            tx._collection_update_case()
        return result

    def _collection_update_case(self):
        """Plan the customer again (amounts, stage, promises, plans) and post on the case for its collector.

        In a savepoint: the payment is kept even if the collections side fails (the daily run catches up).
        """
        self.ensure_one()
        case = self.collection_case_id.sudo()
        try:
            with self.env.cr.savepoint():
                # no late fees posted from a customer's payment: the daily run charges them
                self.env["collection.run"].sudo().with_context(
                    collection_no_commit=True, collection_no_fees=True
                )._run_company(case.company_id, partners=case.partner_id, send=False)
        except Exception:
            _logger.exception("Collections: the case %s could not be updated after payment %s", case.id, self.reference)
        lines = ", ".join(sorted(set(self.collection_line_ids.move_id.mapped("name"))))
        body = self.env._(
            "The customer paid %(amount)s online (%(reference)s) for %(documents)s.",
            amount=format_amount(self.env, self.amount, self.currency_id),
            reference=self.reference,
            documents=lines,
        )
        collector = case.user_id.partner_id
        case.message_post(
            body=body,
            author_id=self.partner_id.id,  # the payer, not the public user of the status page
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=collector.ids,
        )

    def _log_message_on_linked_documents(self, message):
        """Say on the invoices and the case what was paid (the transaction has no invoice_ids of its own)."""
        result = super()._log_message_on_linked_documents(message)
        if self.collection_case_id:
            for move in self.collection_line_ids.move_id:
                move.sudo().message_post(body=message)
        return result
