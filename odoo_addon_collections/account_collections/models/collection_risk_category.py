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
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)

    _sql_constraints = [
        ("key_company_uniq", "unique(key, company_id)", "The key of a risk category must be unique."),
        ("score_range", "CHECK(min_score >= 0 AND min_score <= 100)", "The minimum score must be between 0 and 100."),
    ]
