from odoo import api, fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    collection_disputed = fields.Boolean(
        string="Disputed", compute="_compute_collection_disputed", help="A blocked invoice is never dunned."
    )
    collection_level_id = fields.Many2one("collection.level", string="Collection Level", readonly=True, copy=False)
    collection_is_fee = fields.Boolean(
        string="Late Fee Invoice",
        readonly=True,
        copy=False,
        help="Posted by the collections daily run for late fees and interest; never charged fees itself.",
    )
    collection_fee_charge_ids = fields.One2many(
        "collection.fee.charge", "fee_move_id", string="Late Fee Charges", readonly=True
    )

    @api.depends("payment_state")
    def _compute_collection_disputed(self):
        for move in self:
            move.collection_disputed = move.payment_state == "blocked"

    def action_collection_toggle_dispute(self):
        """Dispute the invoice (block its payment state) or lift the dispute."""
        for move in self:
            move.action_toggle_block_payment()
            move.message_post(
                body=self.env._("Dispute opened: no collection reminders for this invoice.")
                if move.payment_state == "blocked"
                else self.env._("Dispute closed: collection reminders resume.")
            )
        cases = self.env["collection.case"].search(
            [("partner_id", "in", self.commercial_partner_id.ids), ("company_id", "in", self.company_id.ids)]
        )
        cases._collection_cleanup()
        return True

    def action_collection_waive_fee(self):
        """Open the waiver of this fee invoice (collections managers)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Waive Late Fees"),
            "res_model": "collection.fee.waive",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_id": self.id},
        }
