from odoo import api, fields, models
from odoo.exceptions import ValidationError

CONTROL_VARIANT = "control"


class CollectionStrategy(models.Model):
    """A follow-up strategy; a strategy with a parent is one of its parent's A/B variants."""

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
    parent_id = fields.Many2one(
        "collection.strategy",
        string="A/B Variant of",
        ondelete="cascade",
        domain="[('parent_id', '=', False), ('id', '!=', id)]",
        help="This strategy's levels are tried on a share of the parent strategy's customers.",
    )
    variant_ids = fields.One2many("collection.strategy", "parent_id", string="A/B Variants")
    variant_weight = fields.Integer(
        string="Share of Customers",
        default=50,
        help="Relative weight: customers are assigned to the strategy's own levels (the control) and to each "
        "variant in proportion to these weights, by a stable hash of the customer.",
    )
    experiment_key = fields.Char(
        help="Change it to start a new experiment: customers are assigned again. Empty: the strategy key."
    )

    _sql_constraints = [
        ("key_company_uniq", "unique(key, company_id)", "The key of a strategy must be unique."),
    ]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("parent_id", "variant_ids", "key", "variant_weight")
    def _check_variants(self):
        for strategy in self:
            if strategy.parent_id and strategy.variant_ids:
                raise ValidationError(self.env._("A variant cannot have variants of its own: %s", strategy.name))
            if strategy.parent_id and strategy.key == CONTROL_VARIANT:
                raise ValidationError(self.env._("The key %s is kept for the parent's own levels.", CONTROL_VARIANT))
            if strategy.variant_weight < 1:
                raise ValidationError(self.env._("The share of customers must be at least 1."))

    # ------------------------------------------------------------
    # ENGINE
    # ------------------------------------------------------------

    def _variant_levels(self, variant_key):
        """The levels a customer assigned to ``variant_key`` follows (the control: the strategy's own)."""
        self.ensure_one()
        if not variant_key or variant_key == CONTROL_VARIANT:
            return self.level_ids
        return self.variant_ids.filtered(lambda v: v.key == variant_key)[:1].level_ids or self.level_ids
