from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    collection_case_ids = fields.One2many("collection.case", "partner_id", string="Collection Cases")
    collection_case_id = fields.Many2one("collection.case", compute="_compute_collection_case_id")
    collection_risk_score = fields.Float(string="Risk Score", compute="_compute_collection_case_id")
    collection_risk_category_id = fields.Many2one(
        "collection.risk.category", string="Risk Category", compute="_compute_collection_case_id"
    )
    collection_risk_explanation = fields.Text(string="Risk Explanation", compute="_compute_collection_case_id")
    collection_preferred_channel = fields.Selection(
        [("email", "Email"), ("sms", "SMS"), ("whatsapp", "WhatsApp"), ("call", "Call"), ("letter", "Letter")],
        string="Preferred Channel",
    )
    collection_opt_out_email = fields.Boolean(string="No Collection Emails")
    collection_opt_out_sms = fields.Boolean(string="No Collection SMS")
    collection_opt_out_whatsapp = fields.Boolean(string="No Collection WhatsApp")
    collection_opt_out_call = fields.Boolean(string="No Collection Calls")
    collection_opt_out_letter = fields.Boolean(string="No Collection Letters")
    collection_do_not_dun = fields.Boolean(string="Do Not Dun")
    collection_paused_until = fields.Date(string="Collections Paused Until")
    collection_hours = fields.Char(string="Own Contact Hours", help="Overrides the company's, e.g. 10:00-12:00")
    collection_weekdays = fields.Char(string="Own Contact Weekdays", help="Overrides the company's, e.g. 2,4")

    @api.depends_context("company")
    @api.depends(
        "commercial_partner_id.collection_case_ids.risk_score",
        "commercial_partner_id.collection_case_ids.risk_category_id",
        "commercial_partner_id.collection_case_ids.risk_explanation",
    )
    def _compute_collection_case_id(self):
        for partner in self:
            case = partner.commercial_partner_id.collection_case_ids.filtered(
                lambda case: case.company_id == self.env.company
            )[:1]
            partner.collection_case_id = case
            partner.collection_risk_score = case.risk_score
            partner.collection_risk_category_id = case.risk_category_id
            partner.collection_risk_explanation = case.risk_explanation

    def _collection_opted_out(self):
        """Return the channels the customer does not want collection messages on."""
        self.ensure_one()
        return {c for c in ("email", "sms", "whatsapp", "call", "letter") if self[f"collection_opt_out_{c}"]}
