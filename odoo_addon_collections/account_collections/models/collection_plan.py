from decimal import Decimal

from collections_engine.plans import make_plan, validate_plan
from collections_engine.types import Installment, PaymentPlan

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_amount, format_date

FREQUENCIES = [("weekly", "Weekly"), ("biweekly", "Every two weeks"), ("monthly", "Monthly")]


class CollectionPlan(models.Model):
    """A payment plan: instalments that replace the due dates of the items it covers."""

    _name = "collection.plan"
    _description = "Payment Plan"
    _order = "created_on desc, id desc"

    case_id = fields.Many2one("collection.case", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one(related="case_id.partner_id", store=True)
    company_id = fields.Many2one(related="case_id.company_id", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    created_on = fields.Date(required=True, default=fields.Date.context_today)
    total = fields.Monetary(required=True)
    down_payment = fields.Monetary()
    installments = fields.Integer(string="Number of Instalments", required=True, default=3)
    frequency = fields.Selection(FREQUENCIES, required=True, default="monthly")
    first_due = fields.Date(string="First Instalment", required=True)
    grace_days = fields.Integer()
    move_line_ids = fields.Many2many("account.move.line", string="Items", help="Empty: all of the customer's items.")
    installment_ids = fields.One2many("collection.plan.installment", "plan_id", string="Schedule", readonly=True)
    cancelled = fields.Boolean()
    status = fields.Selection(
        [
            ("good_standing", "In good standing"),
            ("late", "Late"),
            ("broken", "Broken"),
            ("completed", "Completed"),
            ("cancelled", "Cancelled"),
        ],
        default="good_standing",
        readonly=True,
    )
    paid_amount = fields.Monetary(readonly=True)

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        plans = super().create(vals_list)
        for plan in plans:
            plan._check_policy_and_schedule()
            plan._log_on_case()
        plans.case_id._collection_cleanup()  # the planned items are no longer reminded
        return plans

    def _log_on_case(self):
        """Say on the case what was agreed, the amounts in the company currency."""
        frequency = dict(self._fields["frequency"]._description_selection(self.env))[self.frequency]

        def money(amount):
            return format_amount(self.env, amount, self.currency_id)

        body = self.env._(
            "Payment plan of %(total)s in %(count)s instalments (%(frequency)s), the first of %(first)s on %(date)s.",
            total=money(self.total),
            count=len(self.installment_ids.filtered("sequence")),
            frequency=frequency.lower(),
            first=money(self.installment_ids.filtered("sequence")[:1].amount),
            date=format_date(self.env, self.first_due),
        )
        if self.down_payment:
            body += " " + self.env._("Down payment: %(amount)s.", amount=money(self.down_payment))
        self.case_id._message_log(body=body)

    # ------------------------------------------------------------
    # ENGINE
    # ------------------------------------------------------------

    def _check_policy_and_schedule(self):
        """Build the schedule with the engine and check it against the rule of the customer's risk category."""
        self.ensure_one()
        currency = self.currency_id.name
        precision = Decimal(1).scaleb(-self.currency_id.decimal_places)
        try:
            engine_plan = make_plan(
                str(self.id),
                str(self.partner_id.id),
                self.created_on,
                currency,
                Decimal(str(self.total)).quantize(precision),
                self.installments,
                self.frequency,
                self.first_due,
                Decimal(str(self.down_payment or 0)).quantize(precision),
                self.grace_days,
            )
        except ValueError as err:
            raise UserError(str(err)) from err
        category = self.case_id.risk_category_id
        policy = self.env["collection.run"]._policy(self.company_id)
        problems = validate_plan(engine_plan, policy.plan_rule(category.key or ""), category.key or "")
        if problems:
            raise UserError(self.env._("This payment plan is not allowed:\n%(problems)s", problems="\n".join(problems)))
        self.installment_ids = [
            fields.Command.create({"sequence": i.sequence, "due_date": i.due_date, "amount": float(i.amount)})
            for i in engine_plan.installments
        ]

    def _engine_plan(self):
        self.ensure_one()
        currency = self.currency_id.name
        return PaymentPlan(
            id=str(self.id),
            customer_id=str(self.partner_id.id),
            created_on=self.created_on,
            currency=currency,
            total=Decimal(str(self.total)),
            installments=tuple(
                Installment(i.sequence, i.due_date, Decimal(str(i.amount))) for i in self.installment_ids
            ),
            frequency=self.frequency,
            grace_days=self.grace_days,
            item_ids=tuple(str(line_id) for line_id in self.move_line_ids.ids),
            cancelled=self.cancelled,
        )

    @api.model
    def _write_evaluations(self, evaluations):
        plans = {e.plan_id: e for e in evaluations}
        for plan in self.browse([int(plan_id) for plan_id in plans]):
            evaluation = plans[str(plan.id)]
            plan.write({"status": evaluation.status, "paid_amount": float(evaluation.paid)})
            by_sequence = {state.sequence: state for state in evaluation.installments}
            for installment in plan.installment_ids:
                state = by_sequence.get(installment.sequence)
                if state:
                    installment.write({"paid": float(state.paid), "status": state.status})


class CollectionPlanInstallment(models.Model):
    _name = "collection.plan.installment"
    _description = "Payment Plan Instalment"
    _order = "plan_id, due_date, sequence"

    plan_id = fields.Many2one("collection.plan", required=True, ondelete="cascade", index=True)
    currency_id = fields.Many2one(related="plan_id.currency_id")
    sequence = fields.Integer(required=True, help="0 is the down payment.")
    due_date = fields.Date(required=True)
    amount = fields.Monetary(required=True)
    paid = fields.Monetary(readonly=True)
    status = fields.Selection(
        [("open", "Open"), ("partial", "Partly paid"), ("paid", "Paid"), ("late", "Late"), ("overdue", "Overdue")],
        default="open",
        readonly=True,
    )
