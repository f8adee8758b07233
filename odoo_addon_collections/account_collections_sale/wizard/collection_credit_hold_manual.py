from odoo import fields, models


class CollectionCreditHoldManual(models.TransientModel):
    _name = "collection.credit.hold.manual"
    _description = "Put a Customer on Credit Hold"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    reason = fields.Char(required=True, help="Shown to the salespeople and on the case.")

    def action_hold(self):
        """Hold the customer in the company with the reason (on their case, opened if need be), logged; the engine
        decides the hold at once."""
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        Case = self.env["collection.case"]
        case = Case.search([("partner_id", "=", partner.id), ("company_id", "=", self.company_id.id)], limit=1)
        case = case or Case.create({"partner_id": partner.id, "company_id": self.company_id.id})
        case.write(
            {
                "credit_hold_manual_reason": self.reason,
                "credit_hold_manual_user_id": self.env.user.id,
                "credit_hold_manual_date": fields.Date.context_today(self),
            }
        )
        case.message_post(
            body=self.env._("Put on credit hold by %(user)s: %(reason)s", user=self.env.user.name, reason=self.reason)
        )
        case._credit_hold_refresh()
        return {"type": "ir.actions.act_window_close"}
