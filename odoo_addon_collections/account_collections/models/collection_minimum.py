from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CollectionMinimum(models.Model):
    """The smallest amount due worth a reminder, and worth a letter, in one currency of a company."""

    _name = "collection.minimum"
    _description = "Collections Minimum Amount"
    _order = "company_id, currency_id"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        help="Amounts of the company's own currency decide whether a reminder is planned.",
    )
    reminder_amount = fields.Monetary(
        string="Minimum for a Reminder",
        help="No reminder is planned or sent while the amount it would ask (overdue, net of credits when they "
        "are deducted) is smaller.",
    )
    letter_amount = fields.Monetary(
        string="Minimum for a Letter",
        help="A letter is only sent when the amount asked reaches this; otherwise the level's other channels are used.",
    )

    _sql_constraints = [
        ("currency_company_uniq", "unique(company_id, currency_id)", "One minimum per currency and company."),
    ]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("reminder_amount", "letter_amount")
    def _check_amounts(self):
        for minimum in self:
            if minimum.reminder_amount < 0 or minimum.letter_amount < 0:
                raise ValidationError(self.env._("A minimum amount cannot be negative."))
