from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.misc import format_amount, format_date


class CollectionPromise(models.Model):
    """A promise to pay: the engine pauses dunning of what it covers until it is kept or broken."""

    _name = "collection.promise"
    _description = "Promise to Pay"
    _order = "promised_date desc, id desc"

    case_id = fields.Many2one("collection.case", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one(related="case_id.partner_id", store=True)
    company_id = fields.Many2one(related="case_id.company_id", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount = fields.Monetary(required=True)
    promised_date = fields.Date(required=True)
    created_on = fields.Date(required=True, default=fields.Date.context_today)
    move_line_ids = fields.Many2many("account.move.line", string="Items", help="Empty: all of the customer's items.")
    cancelled = fields.Boolean()
    status = fields.Selection(
        [
            ("pending", "Pending"),
            ("kept", "Kept"),
            ("partially_kept", "Partially kept"),
            ("broken", "Broken"),
            ("cancelled", "Cancelled"),
        ],
        default="pending",
        readonly=True,
    )
    paid_amount = fields.Monetary(readonly=True)

    _sql_constraints = [
        ("amount_positive", "CHECK(amount > 0)", "A promise to pay must be for a positive amount."),
    ]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("promised_date", "created_on")
    def _check_promised_date(self):
        for promise in self:
            horizon = self.env["collection.run"]._policy(promise.company_id).promises.max_days_ahead
            if (promise.promised_date - promise.created_on).days > horizon:
                raise ValidationError(
                    self.env._(
                        "A promise to pay can be at most %(days)s days ahead (promises.max_days_ahead).", days=horizon
                    )
                )
            if promise.promised_date < promise.created_on:
                raise ValidationError(self.env._("The promised date cannot be before the day of the promise."))

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        promises = super().create(vals_list)
        if not self.env.context.get("collection_promise_logged"):  # the portal and a logged call say it themselves
            for promise in promises:
                promise.case_id._message_log(
                    body=self.env._(
                        "Promise to pay %(amount)s by %(date)s.",
                        amount=format_amount(self.env, promise.amount, promise.currency_id),
                        date=format_date(self.env, promise.promised_date),
                    )
                )
        promises.case_id._collection_cleanup()  # the promised items are no longer reminded
        return promises
