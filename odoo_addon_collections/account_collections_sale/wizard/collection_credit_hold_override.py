from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError


class CollectionCreditHoldOverride(models.TransientModel):
    _name = "collection.credit.hold.override"
    _description = "Override a Credit Hold for One Quotation"

    order_id = fields.Many2one("sale.order", string="Quotation", required=True, ondelete="cascade")
    hold_message = fields.Text(string="Credit Hold", compute="_compute_hold_message")
    reason = fields.Text(required=True, help="Why this quotation may be confirmed although the customer is held.")

    @api.depends("order_id")
    def _compute_hold_message(self):
        for wizard in self:
            wizard.hold_message = wizard.order_id.collection_credit_hold_message

    def action_override(self):
        """Confirm the quotation despite the hold, once, with the reason logged on the case and on the order."""
        self.ensure_one()
        if not self.env.user.has_group("account_collections.group_collection_manager"):
            raise AccessError(self.env._("Only a Collections manager can override a credit hold."))
        order = self.order_id
        if order.state not in ("draft", "sent"):
            raise UserError(self.env._("Only a quotation can be confirmed despite a credit hold."))
        said = {
            "user": self.env.user.name,
            "order": order.name,
            "amount": order.currency_id.format(order.amount_total),
            "reason": self.reason,
        }
        case = order._collection_held_case()
        if case:
            case.message_post(
                body=self.env._(
                    "Credit hold overridden by %(user)s for the quotation %(order)s (%(amount)s): %(reason)s", **said
                )
            )
        order.message_post(
            body=self.env._("Credit hold overridden by %(user)s for this quotation (%(amount)s): %(reason)s", **said)
        )
        order.write(
            {
                "collection_hold_override_pending": True,
                "collection_hold_override_reason": self.reason,
                "collection_hold_override_user_id": self.env.user.id,
                "collection_hold_override_date": fields.Datetime.now(),
            }
        )
        order.action_confirm()  # spends the override: a later confirmation of the same order is refused again
        return {"type": "ir.actions.act_window_close"}
