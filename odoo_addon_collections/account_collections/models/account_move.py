from odoo import api, fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    collection_disputed = fields.Boolean(
        string="Disputed", compute="_compute_collection_disputed", help="A blocked invoice is never dunned."
    )
    collection_level_id = fields.Many2one("collection.level", string="Collection Level", readonly=True, copy=False)

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
