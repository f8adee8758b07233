"""A/B experiments: what each variant of a strategy collected, with the engine's sequential test.

The observations (per customer contacted under a variant: amount due at the first contact,
collected since, days to pay, cost of the contacts) and the test (a mixture sequential
probability ratio test on the amount-weighted recovery rate, valid however often the report is
opened, Bonferroni-corrected over the variants) are the engine's (`collections_engine.experiments`),
the same the connectors print with `odoo-collections experiment results`.
"""

from datetime import datetime, time, timezone

from collections_engine import Portfolio
from collections_engine.experiments import experiment_results, observe_experiment

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.collection_strategy import CONTROL_VARIANT

DECISIONS = [("better", "Better"), ("worse", "Worse"), ("undecided", "Undecided")]


class CollectionExperimentReport(models.TransientModel):
    _name = "collection.experiment.report"
    _description = "A/B Experiment Results"

    strategy_id = fields.Many2one(
        "collection.strategy",
        string="Strategy",
        required=True,
        domain="[('parent_id', '=', False), ('variant_ids', '!=', False)]",
        help="A strategy with A/B variants: its own levels are the control.",
    )
    date = fields.Date(string="As of", required=True, default=fields.Date.context_today)
    date_from = fields.Date(
        string="Contacts Since",
        help="Only customers first contacted from this day (e.g. when the experiment started). Empty: all.",
    )
    confidence = fields.Float(
        default=0.95, digits=(3, 2), help="1 - the false positive rate, shared over the variants."
    )
    mde = fields.Float(
        string="Difference Sought",
        default=0.05,
        digits=(3, 2),
        help="The difference in recovery rate the test is tuned to find (0.05: five points).",
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")
    line_ids = fields.One2many("collection.experiment.report.line", "report_id", string="Variants", readonly=True)
    computed = fields.Boolean(readonly=True)
    stop = fields.Boolean(string="May Stop", readonly=True)
    winner = fields.Char(readonly=True)
    verdict = fields.Char(readonly=True)

    @api.constrains("confidence", "mde")
    def _check_parameters(self):
        for report in self:
            if not 0 < report.confidence < 1:
                raise UserError(self.env._("Confidence: a number between 0 and 1, such as 0.95."))
            if report.mde <= 0:
                raise UserError(self.env._("Difference sought: more than 0, such as 0.05."))

    def action_compute(self):
        """Observe every customer contacted under the strategy's variants and test the variants."""
        self.ensure_one()
        strategy, company = self.strategy_id, self.company_id
        run = self.env["collection.run"]
        actions = self.env["collection.action"].search(
            [
                ("company_id", "=", company.id),
                ("strategy_key", "=", strategy.key),
                ("variant", "!=", False),
                ("state", "!=", "cancelled"),
            ]
        )
        as_of = datetime.combine(self.date, time.max).replace(tzinfo=timezone.utc)
        since = datetime.combine(self.date_from, time.min).replace(tzinfo=timezone.utc) if self.date_from else None
        observations = []
        if actions:
            partner_ids = actions.partner_id.commercial_partner_id.ids
            first = min(actions.mapped("not_before")).date()
            run.env.flush_all()
            portfolio = Portfolio(
                company_currency=company.currency_id.name,
                customers=(),
                # the items contacted about, however old, paid since the first contact
                items=tuple(run._read_items(company, partner_ids, first, settled_since=first)),
                payments=tuple(run._read_payments(company, partner_ids, first)),
            )
            observations = observe_experiment(
                portfolio, run._read_history(company, partner_ids), as_of, strategy.key, since
            )
        keys = {observation.variant for observation in observations}
        control = CONTROL_VARIANT if CONTROL_VARIANT in keys or not keys else None
        result = experiment_results(observations, control=control, confidence=self.confidence, mde=self.mde)
        self.line_ids.unlink()
        self.write(
            {
                "computed": True,
                "stop": result.stop,
                "winner": self._variant_name(result.winner) if result.winner else False,
                "verdict": self._verdict(result),
                "line_ids": [
                    fields.Command.create(self._line_values(variant, result.control)) for variant in result.variants
                ],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _variant_name(self, key):
        if not key or key == CONTROL_VARIANT:
            return self.env._("%(strategy)s (control)", strategy=self.strategy_id.name)
        variant = self.strategy_id.variant_ids.filtered(lambda v: v.key == key)[:1]
        return variant.name or key

    def _verdict(self, result):
        if not result.variants:
            return self.env._("No customer has been contacted under this strategy's variants yet.")
        if result.stop and result.winner == result.control:
            return self.env._("The experiment may stop: the control beats every variant.")
        if result.stop:
            return self.env._(
                "The experiment may stop: %(winner)s recovers more than the control.",
                winner=self._variant_name(result.winner),
            )
        small = [v for v in result.variants if v.customers < result.minimum_customers]
        if small:
            return self.env._(
                "Keep going: each variant needs at least %(count)s customers before it is tested.",
                count=result.minimum_customers,
            )
        return self.env._(
            "Keep going: no variant differs from the control yet. The test stays valid however often you look."
        )

    def _line_values(self, variant, control):
        def pct(value):
            return value * 100 if value is not None else 0.0

        low, high = variant.difference_interval or (None, None)
        return {
            "variant": variant.variant,
            "name": self._variant_name(variant.variant),
            "is_control": variant.variant == control,
            "customers": variant.customers,
            "amount_due": float(variant.amount_due),
            "collected": float(variant.collected),
            "recovery_rate": pct(variant.recovery_rate),
            "paid_share": pct(variant.paid_share),
            "mean_days_to_pay": variant.mean_days_to_pay or 0.0,
            "cost": float(variant.cost),
            "cost_per_unit_collected": variant.cost_per_unit_collected or 0.0,
            "difference": pct(variant.recovery_difference),
            "difference_low": pct(low),
            "difference_high": pct(high),
            "p_value": variant.always_valid_p_value if variant.always_valid_p_value is not None else 1.0,
            "decision": variant.decision or False,
        }


class CollectionExperimentReportLine(models.TransientModel):
    _name = "collection.experiment.report.line"
    _description = "A/B Experiment Results of a Variant"
    _order = "is_control desc, id"

    report_id = fields.Many2one("collection.experiment.report", required=True, ondelete="cascade")
    currency_id = fields.Many2one(related="report_id.currency_id")
    variant = fields.Char(string="Variant Key")
    name = fields.Char(string="Variant")
    is_control = fields.Boolean(string="Control")
    customers = fields.Integer()
    amount_due = fields.Monetary(help="Open on the day of each customer's first contact, on the items contacted about.")
    collected = fields.Monetary(help="Of that amount, what has been paid since.")
    recovery_rate = fields.Float(string="Recovery (%)", digits=(16, 1), help="Collected / amount due.")
    paid_share = fields.Float(string="Paid in Full (%)", digits=(16, 1), help="Customers who paid everything.")
    mean_days_to_pay = fields.Float(
        string="Days to Pay", digits=(16, 1), help="From the first contact to the last payment, of those who paid."
    )
    cost = fields.Monetary(help="Cost of the contacts.")
    cost_per_unit_collected = fields.Float(string="Cost per Unit Collected", digits=(16, 4))
    difference = fields.Float(
        string="Difference (points)", digits=(16, 1), help="Recovery rate minus the control's, in percentage points."
    )
    difference_low = fields.Float(string="From", digits=(16, 1))
    difference_high = fields.Float(string="To", digits=(16, 1))
    p_value = fields.Float(
        string="Always-valid p-value",
        digits=(16, 4),
        help="Of the sequential test against the control: it stays valid however often the results are looked at.",
    )
    decision = fields.Selection(DECISIONS, help="Against the control, at the report's confidence.")
