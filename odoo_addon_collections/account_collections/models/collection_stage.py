from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

STAGE_ROLES = [
    ("pre_due", "Pre-due"),
    ("overdue", "Overdue"),
    ("promise", "Promise to pay"),
    ("payment_plan", "Payment plan"),
    ("dispute", "Dispute"),
    ("closed", "Closed"),
]


class CollectionStage(models.Model):
    _name = "collection.stage"
    _description = "Collection Stage"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    key = fields.Char(required=True, help="Identifier used in the policy document.")
    sequence = fields.Integer(default=10)
    fold = fields.Boolean(string="Folded in Kanban")
    role = fields.Selection(
        STAGE_ROLES,
        help="The situation in which the engine moves a case to this stage. "
        "Stages without a role are reached through follow-up levels.",
    )
    agency_stage = fields.Boolean(
        string="Cases with an Agency",
        help="Cases handed over to a collection agency stay in this stage until they are taken back or closed.",
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("key_company_uniq", "unique(key, company_id)", "The key of a collection stage must be unique."),
    ]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("role", "company_id")
    def _check_role_unique(self):
        for stage in self.filtered("role"):
            twins = self.search_count(
                [("role", "=", stage.role), ("company_id", "=", stage.company_id.id), ("id", "!=", stage.id)]
            )
            if twins:
                raise ValidationError(_("Only one stage can have the role %(role)s.", role=stage.role))
