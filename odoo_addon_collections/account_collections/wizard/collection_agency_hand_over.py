from odoo import fields, models


class CollectionAgencyHandOver(models.TransientModel):
    _name = "collection.agency.hand.over"
    _description = "Hand a Collection Case Over to an Agency"

    case_id = fields.Many2one("collection.case", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="case_id.company_id")
    agency_id = fields.Many2one(
        "collection.agency", required=True, domain="[('company_id', '=', company_id)]", ondelete="cascade"
    )
    note = fields.Text(help="Sent to the agency with the hand-over pack.")

    def action_hand_over(self):
        """Send the pack to the agency and stop our dunning of the customer."""
        self.ensure_one()
        self.case_id._hand_over_to_agency(self.agency_id, note=self.note)
        return {"type": "ir.actions.act_window_close"}
