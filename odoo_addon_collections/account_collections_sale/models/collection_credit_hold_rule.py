from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_repr


class CollectionCreditHoldRule(models.Model):
    """One rule of the policy's ``credit_hold`` section: when the customers it covers go on credit hold."""

    _name = "collection.credit.hold.rule"
    _description = "Credit Hold Rule"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    risk_category_ids = fields.Many2many(
        "collection.risk.category",
        string="Risk Categories",
        domain="[('company_id', 'in', (company_id, False))]",
        help="The customers of these risk categories; empty: every category.",
    )
    stage_ids = fields.Many2many(
        "collection.stage",
        string="Stages",
        domain="[('company_id', 'in', (company_id, False))]",
        help="The customers whose case is in one of these stages; empty: every stage. With categories too, a "
        "customer must be in both.",
    )
    hold_overdue_days = fields.Boolean(
        string="Overdue Beyond Days", help="Hold when an invoice is overdue by more days than this."
    )
    overdue_days = fields.Integer(string="Days Overdue", default=30)
    hold_overdue_amount = fields.Boolean(
        string="Overdue Beyond an Amount", help="Hold when more is overdue, net of the customer's credits."
    )
    overdue_amount = fields.Monetary(string="Amount Overdue")
    over_credit_limit = fields.Boolean(
        string="Over the Credit Limit",
        help="Hold when the balance (everything open, net of credits) is above the customer's credit limit: the "
        "partner's Credit Limit, when Sales Credit Limit is on in the Invoicing settings.",
    )
    broken_plan = fields.Boolean(string="Broken Payment Plan", help="Hold while a payment plan is broken.")

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("name", "hold_overdue_days", "hold_overdue_amount", "over_credit_limit", "broken_plan")
    def _check_condition(self):
        for rule in self:
            if not (rule.hold_overdue_days or rule.hold_overdue_amount or rule.over_credit_limit or rule.broken_plan):
                raise ValidationError(
                    self.env._("The credit hold rule %(rule)s needs at least one condition.", rule=rule.name)
                )

    @api.constrains("overdue_days", "overdue_amount")
    def _check_limits(self):
        for rule in self:
            if rule.overdue_days < 0 or rule.overdue_amount < 0:
                raise ValidationError(
                    self.env._(
                        "The days and the amount of a credit hold rule cannot be negative (%(rule)s).", rule=rule.name
                    )
                )

    # ------------------------------------------------------------
    # POLICY
    # ------------------------------------------------------------

    def _policy_rule(self, currency):
        """The rule as the engine's policy document writes it (amounts in the company's currency)."""
        self.ensure_one()
        rule = {
            "risk_categories": self.risk_category_ids.mapped("key"),
            "stages": self.stage_ids.mapped("key"),
            "over_credit_limit": self.over_credit_limit,
            "broken_plan": self.broken_plan,
        }
        if self.hold_overdue_days:
            rule["overdue_days"] = self.overdue_days
        if self.hold_overdue_amount:
            rule["overdue_amount"] = {currency.name: float_repr(self.overdue_amount, currency.decimal_places)}
        return rule
