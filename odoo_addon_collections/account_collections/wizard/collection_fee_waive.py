from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.misc import format_amount


class CollectionFeeWaive(models.TransientModel):
    """Waive a posted fee invoice, or some of its charges: a credit note reconciled with it, with a reason."""

    _name = "collection.fee.waive"
    _description = "Waive Late Fees"

    move_id = fields.Many2one("account.move", string="Fee Invoice", required=True, ondelete="cascade")
    charge_ids = fields.Many2many(
        "collection.fee.charge",
        string="Charges to Waive",
        domain="[('fee_move_id', '=', move_id), ('waived', '=', False)]",
        help="Leave empty to waive every charge of the invoice not waived yet.",
    )
    reason = fields.Text(required=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        move = self.env["account.move"].browse(values.get("move_id"))
        if "charge_ids" in fields_list and move:
            values["charge_ids"] = [(6, 0, move.collection_fee_charge_ids.filtered(lambda c: not c.waived).ids)]
        return values

    def action_waive(self):
        """Credit the chosen charges, reconcile the credit note with the fee invoice, say why on both."""
        self.ensure_one()
        if not self.env.user.has_group("account_collections.group_collection_manager"):
            raise AccessError(self.env._("Only collections managers can waive late fees."))
        move = self.move_id
        charges = (self.charge_ids or move.collection_fee_charge_ids).filtered(lambda c: not c.waived)
        if not move.collection_is_fee or move.state != "posted":
            raise UserError(self.env._("Only a posted late fee invoice can be waived."))
        if not charges or charges.fee_move_id != move:
            raise UserError(self.env._("Choose charges of this fee invoice that are not waived yet."))
        reason = (self.reason or "").strip()
        if not reason:
            raise UserError(self.env._("Give the reason of the waiver."))
        refund = (
            self.env["account.move"]
            .with_company(move.company_id)
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": move.partner_id.id,
                    "journal_id": move.journal_id.id,
                    "currency_id": move.currency_id.id,
                    "invoice_date": fields.Date.context_today(self),
                    "reversed_entry_id": move.id,
                    "ref": self.env._("Waiver of %(invoice)s: %(reason)s", invoice=move.name, reason=reason),
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {
                                "product_id": charge.fee_line_id.product_id.id,
                                "name": charge.label,
                                "quantity": 1,
                                "price_unit": charge.amount,
                                "tax_ids": [(6, 0, charge.fee_line_id.tax_ids.ids)],
                            },
                        )
                        for charge in charges
                    ],
                }
            )
        )
        refund.action_post()
        receivable = (move.line_ids | refund.line_ids).filtered(
            lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled
        )
        if len(receivable.move_id) == 2:
            receivable.reconcile()
        charges.write({"waived": True, "waiver_reason": reason, "waiver_move_id": refund.id})
        body = Markup("%s<br/>%s") % (
            self.env._(
                "Late fees waived by %(user)s: %(amount)s, credit note %(refund)s.",
                user=self.env.user.name,
                amount=format_amount(self.env, sum(charges.mapped("amount")), move.currency_id),
                refund=refund.name,
            ),
            self.env._("Reason: %(reason)s", reason=reason),
        )
        move.message_post(body=body)
        refund.message_post(body=body)
        for case in charges.case_id:
            case.message_post(body=body)
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": refund.id,
            "view_mode": "form",
        }
