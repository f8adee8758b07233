from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    collection_tz = fields.Selection(related="company_id.collection_tz", readonly=False)
    collection_hours = fields.Char(related="company_id.collection_hours", readonly=False)
    collection_weekday_ids = fields.Many2many(related="company_id.collection_weekday_ids", readonly=False)
    collection_max_per_day = fields.Integer(related="company_id.collection_max_per_day", readonly=False)
    collection_max_per_week = fields.Integer(related="company_id.collection_max_per_week", readonly=False)
    collection_audience = fields.Selection(related="company_id.collection_audience", readonly=False)
    collection_cost_email = fields.Monetary(related="company_id.collection_cost_email", readonly=False)
    collection_cost_sms = fields.Monetary(related="company_id.collection_cost_sms", readonly=False)
    collection_cost_whatsapp = fields.Monetary(related="company_id.collection_cost_whatsapp", readonly=False)
    collection_cost_call = fields.Monetary(related="company_id.collection_cost_call", readonly=False)
    collection_cost_letter = fields.Monetary(related="company_id.collection_cost_letter", readonly=False)
    collection_cost_visit = fields.Monetary(related="company_id.collection_cost_visit", readonly=False)
    collection_risk_avg_days_late = fields.Float(related="company_id.collection_risk_avg_days_late", readonly=False)
    collection_risk_late_share = fields.Float(related="company_id.collection_risk_late_share", readonly=False)
    collection_risk_broken_promises = fields.Float(related="company_id.collection_risk_broken_promises", readonly=False)
    collection_risk_broken_plans = fields.Float(related="company_id.collection_risk_broken_plans", readonly=False)
    collection_risk_overdue_ratio = fields.Float(related="company_id.collection_risk_overdue_ratio", readonly=False)
    collection_risk_credit_exposure = fields.Float(related="company_id.collection_risk_credit_exposure", readonly=False)
    collection_risk_dispute_share = fields.Float(related="company_id.collection_risk_dispute_share", readonly=False)
    collection_risk_payment_timing = fields.Float(related="company_id.collection_risk_payment_timing", readonly=False)
    collection_credits_mode = fields.Selection(related="company_id.collection_credits_mode", readonly=False)
    collection_thank_you = fields.Boolean(related="company_id.collection_thank_you", readonly=False)
    collection_email_from = fields.Char(related="company_id.collection_email_from", readonly=False)
    collection_link_days = fields.Integer(related="company_id.collection_link_days", readonly=False)
    collection_default_user_id = fields.Many2one(related="company_id.collection_default_user_id", readonly=False)
