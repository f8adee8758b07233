from odoo import fields, models


class CollectionStrategy(models.Model):
    _name = "collection.strategy"
    _description = "Collection Strategy"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    key = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    risk_category_ids = fields.Many2many(
        "collection.risk.category", string="Risk Categories", help="Customers of these categories follow it."
    )
    level_ids = fields.One2many("collection.level", "strategy_id", string="Follow-up Levels")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("key_company_uniq", "unique(key, company_id)", "The key of a strategy must be unique."),
    ]
