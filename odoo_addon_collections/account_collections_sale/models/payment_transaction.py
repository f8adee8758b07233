from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _check_amount_and_confirm_order(self):
        """An online payment confirms a held customer's quotation only when it pays it in full.

        A down payment leaves the rest on credit: the quotation stays a quotation (the payment is kept)
        and says why, instead of failing the payment's processing.
        """
        held = self.browse()
        for tx in self:
            quotations = tx.sale_order_ids.filtered(lambda so: so.state in ("draft", "sent"))
            if len(tx.sale_order_ids) == 1 and quotations and quotations._confirmation_error_message():
                case = quotations._collection_held_case()
                if case:
                    quotations._message_log(
                        body=self.env._(
                            "Payment received; the quotation was not confirmed: %(hold)s",
                            hold=case._credit_hold_summary(),
                        )
                    )
                    held |= tx
        return super(PaymentTransaction, self - held)._check_amount_and_confirm_order()
