from odoo import fields, models
from odoo.addons.base.models.res_partner import _tz_get


class ResCompany(models.Model):
    _inherit = "res.company"

    collection_tz = fields.Selection(_tz_get, string="Collections Timezone", default="UTC")
    collection_hours = fields.Char(
        string="Contact Hours", default="09:00-13:00,15:00-18:00", help="Local hours, e.g. 09:00-13:00,15:00-18:00"
    )
    collection_weekdays = fields.Char(string="Contact Weekdays", default="1,2,3,4,5", help="ISO weekdays, 1 = Monday")
    collection_max_per_day = fields.Integer(string="Contacts per Day", default=1)
    collection_max_per_week = fields.Integer(string="Contacts per Week", default=3)
    collection_cost_email = fields.Float(string="Cost of an Email", default=0.02)
    collection_cost_sms = fields.Float(string="Cost of an SMS", default=0.08)
    collection_cost_whatsapp = fields.Float(string="Cost of a WhatsApp Message", default=0.05)
    collection_cost_call = fields.Float(string="Cost of a Call", default=4.0)
    collection_cost_letter = fields.Float(string="Cost of a Letter", default=1.5)
    collection_risk_avg_days_late = fields.Float(string="Weight: Average Days Late", default=30.0)
    collection_risk_late_share = fields.Float(string="Weight: Share Paid Late", default=20.0)
    collection_risk_broken_promises = fields.Float(string="Weight: Broken Promises", default=10.0)
    collection_risk_broken_plans = fields.Float(string="Weight: Broken Payment Plans", default=5.0)
    collection_risk_overdue_ratio = fields.Float(string="Weight: Share Overdue Now", default=5.0)
    collection_risk_credit_exposure = fields.Float(string="Weight: Credit Limit Used", default=5.0)
    collection_risk_dispute_share = fields.Float(string="Weight: Disputed Share", default=5.0)
