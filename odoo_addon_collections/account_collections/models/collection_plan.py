from decimal import Decimal

from collections_engine.plans import installment_reminders, make_plan, validate_plan
from collections_engine.types import Installment, PaymentPlan
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_amount, format_date

from .collection_statement import PLAN_OVERDUE, PLAN_PRE_DUE

FREQUENCIES = [("weekly", "Weekly"), ("biweekly", "Every two weeks"), ("monthly", "Monthly")]
PLAN_REMINDER_DAYS = 3  # an instalment is reminded this many days before it is due


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
        help="Empty while the plan awaits the collector's approval.",
    )
    paid_amount = fields.Monetary(readonly=True)
    approval_state = fields.Selection(
        [("accepted", "Accepted"), ("proposed", "Awaiting approval"), ("refused", "Refused")],
        string="Approval",
        default="accepted",
        required=True,
        readonly=True,
        help="A plan the customer proposes beyond the policy's rule waits for the collector's approval; only "
        "accepted plans pause the dunning.",
    )
    source = fields.Selection(
        [("backend", "Collector"), ("portal", "Customer portal")], default="backend", required=True, readonly=True
    )
    approval_reasons = fields.Text(
        string="Beyond the Policy", readonly=True, help="How the proposal breaks the rule of the risk category."
    )
    activity_id = fields.Many2one("mail.activity", string="Approval Task", readonly=True, ondelete="set null")

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        plans = super().create(vals_list)
        for plan in plans:
            if plan.approval_state == "proposed":
                plan._schedule_proposal()
            else:
                plan._check_policy_and_schedule()
                plan._log_on_case()
        plans.filtered(lambda p: p.approval_state == "accepted").case_id._collection_cleanup()
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
        self._log_as_actor(body)

    def _log_as_actor(self, body):
        """Log on the case; what a customer does through the signed link (the public user) is theirs."""
        author = self.case_id.partner_id if self.env.user._is_public() else self.env.user.partner_id
        self.case_id._message_log(body=body, author_id=author.id)

    # ------------------------------------------------------------
    # ENGINE
    # ------------------------------------------------------------

    def _check_policy_and_schedule(self):
        """Build the schedule with the engine and check it against the rule of the customer's risk category."""
        engine_plan, problems = self._engine_schedule()
        if problems:
            raise UserError(self.env._("This payment plan is not allowed:\n%(problems)s", problems="\n".join(problems)))
        self._write_schedule(engine_plan)

    def _schedule_proposal(self):
        """Schedule a plan proposed beyond the rule and ask the collector to approve or refuse it."""
        engine_plan, problems = self._engine_schedule()
        self._write_schedule(engine_plan)
        self.write({"status": False, "approval_reasons": "\n".join(problems)})
        case = self.case_id
        self._log_as_actor(
            self.env._(
                "The customer proposes a payment plan beyond the policy, to approve or refuse: %(reasons)s",
                reasons="; ".join(problems),
            )
        )
        if case.user_id:
            self.activity_id = case.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Approve or refuse the payment plan proposed by the customer"),
                note="\n".join(problems),
                user_id=case.user_id.id,
            )

    def _write_schedule(self, engine_plan):
        self.installment_ids = [
            fields.Command.create({"sequence": i.sequence, "due_date": i.due_date, "amount": float(i.amount)})
            for i in engine_plan.installments
        ]

    def _engine_schedule(self):
        """(the engine's plan with its schedule, how it breaks the rule of the customer's risk category)."""
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
        return engine_plan, validate_plan(engine_plan, policy.plan_rule(category.key or ""), category.key or "")

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

    # ------------------------------------------------------------
    # PORTAL
    # ------------------------------------------------------------

    @api.model
    def _portal_terms(self, case):
        """What the customer may propose: the amount to plan, its items and the rule of their risk category.

        ``{"total", "lines", "rule" (PlanRule or None), "min_down_payment"}``; the total is the case's
        amount due from its statement (what every channel shows), the items its overdue instalments.
        """
        document = case._collection_statement()
        overdue = document.company_statement.section("overdue")
        category = case.risk_category_id.key or ""
        rule = self.env["collection.run"]._policy(case.company_id).plan_rule(category)
        total = document.amount_due
        return {
            "total": total,
            "lines": self.env["account.move.line"].browse([int(line.item_id) for line in overdue]),
            "rule": rule,
            "min_down_payment": case.currency_id.round(total * float(rule.min_down_payment_pct) / 100) if rule else 0.0,
        }

    @api.model
    def _propose_from_portal(self, case, installments, frequency, down_payment):
        """Create the plan a customer proposes: accepted at once inside the rule, else awaiting approval.

        The first instalment falls one period after today, the down payment today. Raises UserError with a
        message for the customer when the proposal cannot be a plan at all (nothing due, bad figures).
        """
        if case.plan_ids.filtered(lambda p: p.approval_state == "proposed" or p.status in ("good_standing", "late")):
            raise UserError(self.env._("You already have a payment plan, or a proposal awaiting our answer."))
        terms = self._portal_terms(case)
        if terms["total"] <= 0 or not terms["lines"]:
            raise UserError(self.env._("Nothing is overdue: there is nothing to put in a payment plan."))
        if frequency not in dict(FREQUENCIES):
            raise UserError(self.env._("Choose how often you will pay."))
        currency = case.currency_id
        down_payment = currency.round(down_payment)
        if installments < 1 or installments > 120:
            raise UserError(self.env._("Choose between 1 and 120 instalments."))
        if down_payment < 0 or currency.compare_amounts(down_payment, terms["total"]) >= 0:
            raise UserError(self.env._("The down payment must be at least zero and less than the amount due."))
        today = fields.Date.context_today(self)
        step = {"weekly": relativedelta(weeks=1), "biweekly": relativedelta(weeks=2)}
        values = {
            "case_id": case.id,
            "total": terms["total"],
            "down_payment": down_payment,
            "installments": installments,
            "frequency": frequency,
            "created_on": today,
            "first_due": today + step.get(frequency, relativedelta(months=1)),
            "grace_days": terms["rule"].grace_days if terms["rule"] else 0,
            "move_line_ids": [fields.Command.set(terms["lines"].ids)],
            "source": "portal",
        }
        probe = self.new(values)
        problems = probe._engine_schedule()[1]
        values["approval_state"] = "proposed" if problems else "accepted"
        return self.create(values)

    def _down_payment_url(self):
        """Where the customer pays the down payment now: the portal's payment of the plan's next instalment (the
        down payment first), through the company's payment providers (controllers/portal.py)."""
        self.ensure_one()
        if not self.down_payment:
            return ""
        return f"/my/collections/{self.case_id.id}/pay?kind=plan&currency={self.currency_id.name}"

    # ------------------------------------------------------------
    # INSTALMENT REMINDERS
    # ------------------------------------------------------------

    @api.model
    def _record_installment_reminders(self, company, evaluations, today, naive_now):
        """Record an email (else SMS) reminder for each instalment the engine says is due soon or late.

        Keyed by plan, instalment and kind: each is recorded once, whatever the number of runs. The
        sending cron sends it with the instalment's figures.
        """
        Action = self.env["collection.action"]
        values = []
        plans = self.browse([int(e.plan_id) for e in evaluations]).filtered(lambda p: p.approval_state == "accepted")
        by_id = {str(plan.id): plan for plan in plans}
        for evaluation in evaluations:
            plan = by_id.get(evaluation.plan_id)
            if not plan:
                continue
            partner = plan.partner_id
            opted_out = partner._collection_opted_out()
            email, number = partner._collection_reach()[partner.id]
            channel = (
                "email" if email and "email" not in opted_out else "sms" if number and "sms" not in opted_out else None
            )
            if not channel:
                continue
            for state, kind in installment_reminders(evaluation, today, PLAN_REMINDER_DAYS):
                installment = plan.installment_ids.filtered(lambda i, seq=state.sequence: i.sequence == seq)[:1]
                level_key = PLAN_PRE_DUE if kind == "pre_due" else PLAN_OVERDUE
                values.append(
                    {
                        "key": f"{level_key}-{plan.id}-{state.sequence}",
                        "case_id": plan.case_id.id,
                        "level_key": level_key,
                        "channel": channel,
                        "tone": "friendly",
                        "move_line_ids": [fields.Command.set(plan.move_line_ids.ids)],
                        "plan_installment_id": installment.id,
                        "amount_due": float(state.amount - state.paid),
                        "not_before": naive_now,
                        "planned_at": naive_now,
                        "cost": company[f"collection_cost_{channel}"],
                        "reason": self.env._("Instalment of the payment plan due on %(date)s", date=state.due_date),
                    }
                )
        if values:
            known = set(Action.search([("key", "in", [v["key"] for v in values])]).mapped("key"))
            Action.create([v for v in values if v["key"] not in known])

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_approve(self):
        """Accept a proposed plan: it now pauses the dunning of its items; the customer sees it on the portal."""
        for plan in self.filtered(lambda p: p.approval_state == "proposed"):
            plan.write({"approval_state": "accepted", "status": "good_standing"})
            plan._close_approval_task()
            plan._log_on_case()
            plan.case_id._message_log(body=self.env._("The payment plan proposed by the customer is approved."))
            plan.case_id._collection_cleanup()
        return True

    def action_refuse(self):
        """Refuse a proposed plan: dunning goes on; the customer sees the answer on the portal."""
        for plan in self.filtered(lambda p: p.approval_state == "proposed"):
            plan.write({"approval_state": "refused", "status": "cancelled", "cancelled": True})
            plan._close_approval_task()
            plan.case_id._message_log(body=self.env._("The payment plan proposed by the customer is refused."))
        return True

    def _close_approval_task(self):
        if self.activity_id:
            self.activity_id.action_done()


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

    def _reminder_obsolete_reason(self):
        """Why a reminder of this instalment is no longer worth sending (a cancel reason), or False."""
        self.ensure_one()
        plan = self.plan_id
        if plan.status == "completed" or self.currency_id.compare_amounts(self.paid, self.amount) >= 0:
            return "paid"
        if plan.approval_state != "accepted" or plan.cancelled or plan.status not in ("good_standing", "late"):
            return "superseded"  # a broken plan: the items are dunned again instead
        return False
