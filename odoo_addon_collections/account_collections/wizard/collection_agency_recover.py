from odoo import fields, models


class CollectionAgencyRecover(models.TransientModel):
    _name = "collection.agency.recover"
    _description = "Record What an Agency Recovered"

    case_id = fields.Many2one("collection.case", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="case_id.company_id")
    agency_id = fields.Many2one(related="case_id.agency_id")
    currency_id = fields.Many2one(related="case_id.currency_id")
    date = fields.Date(required=True, default=fields.Date.context_today)
    amount = fields.Monetary(required=True, help="What the customer paid through the agency.")
    journal_id = fields.Many2one(
        "account.journal",
        string="Bank Journal",
        domain="[('company_id', '=', company_id), ('type', 'in', ('bank', 'cash'))]",
        help="Where the money arrived; the company's first bank journal when empty.",
        ondelete="cascade",
    )
    note = fields.Text()

    def action_record(self):
        """Post the payment, settle the handed-over items oldest first and record the commission."""
        self.ensure_one()
        self.env["collection.agency.recovery"]._record(
            self.case_id, self.amount, self.date, journal=self.journal_id, note=self.note
        )
        return {"type": "ir.actions.act_window_close"}
