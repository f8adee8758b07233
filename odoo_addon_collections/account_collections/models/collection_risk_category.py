from odoo import fields, models


class CollectionRiskCategory(models.Model):
    _name = "collection.risk.category"
    _description = "Customer Risk Category"
    _order = "min_score, id"

    name = fields.Char(required=True, translate=True)
    key = fields.Char(required=True)
    min_score = fields.Integer(
        string="Minimum Score", required=True, help="A customer whose risk score reaches it falls in this category."
    )
    color = fields.Integer()
    plan_max_installments = fields.Integer(
        string="Plan: Maximum Instalments", help="0: customers of this category cannot get a payment plan."
    )
    plan_min_down_payment_pct = fields.Float(string="Plan: Minimum Down Payment (%)")
    plan_weekly = fields.Boolean(string="Plan: Weekly", default=True)
    plan_biweekly = fields.Boolean(string="Plan: Every Two Weeks", default=True)
    plan_monthly = fields.Boolean(string="Plan: Monthly", default=True)
    plan_grace_days = fields.Integer(string="Plan: Grace Days")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)

    _sql_constraints = [
        ("key_company_uniq", "unique(key, company_id)", "The key of a risk category must be unique."),
        ("score_range", "CHECK(min_score >= 0 AND min_score <= 100)", "The minimum score must be between 0 and 100."),
    ]
