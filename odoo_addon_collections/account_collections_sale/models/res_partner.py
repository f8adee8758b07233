from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    collection_credit_hold = fields.Boolean(
        string="On Credit Hold",
        compute="_compute_collection_credit_hold",
        help="In the current company: the customer's quotations cannot be confirmed (Collections decides).",
    )
    collection_credit_hold_message = fields.Text(
        string="Credit Hold Message", compute="_compute_collection_credit_hold"
    )

    @api.depends_context("company", "lang")
    @api.depends(
        "commercial_partner_id.collection_case_ids.credit_hold",
        "commercial_partner_id.collection_case_ids.credit_hold_parts",
    )
    def _compute_collection_credit_hold(self):
        # salespeople read the hold without access to the cases themselves
        Case = self.env["collection.case"].sudo()
        held = Case.search(
            [
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
                ("credit_hold", "=", True),
            ]
        ).grouped("partner_id")
        for partner in self:
            case = held.get(partner.commercial_partner_id, Case)[:1]
            partner.collection_credit_hold = bool(case)
            partner.collection_credit_hold_message = case._credit_hold_summary() if case else False

    def action_collection_credit_hold(self):
        """Open the wizard that puts the customer on credit hold in the current company, with a reason."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Put on Credit Hold"),
            "res_model": "collection.credit.hold.manual",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_partner_id": self.commercial_partner_id.id,
                "default_company_id": self.env.company.id,
            },
        }
