"""A daily record of the collection KPIs, per company and per collector, team, risk category and variant.

The daily run computes them with the engine (`collections_engine.kpis.compute_kpis`, the same
figures the connectors print) over the policy's KPI period ending that day, from the company's
whole ledger, and keeps one snapshot per day: their trend by month is a graph or a pivot.
"""

from datetime import timedelta
from decimal import Decimal

from collections_engine import CollectionCost, Portfolio
from collections_engine.engine import local_today
from collections_engine.kpis import compute_kpis
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models

from .collection_statement import OPEN_RECEIVABLE_LINES

DIMENSIONS = [
    ("company", "Company"),
    ("collector", "Collector"),
    ("team", "Team"),
    ("risk_category", "Risk Category"),
    ("variant", "A/B Variant"),
    ("agency", "Agency"),
]
# the countback DSO walks back through up to 36 months of sales
COUNTBACK_MONTHS = 36
MONEY = ("receivables", "overdue", "credit_sales", "collected", "collection_cost")
RATIOS = (
    "dso",
    "dso_countback",
    "best_possible_dso",
    "average_days_delinquent",
    "cei",
    "pct_customers_delinquent",
    "pct_amount_delinquent",
    "recovery_rate",
    "promise_kept_rate",
    "cost_per_collection",
)
COUNTS = ("customers_with_balance", "customers_delinquent", "promises_due", "actions")


class CollectionKpiSnapshot(models.Model):
    _name = "collection.kpi.snapshot"
    _description = "Collection KPI Snapshot"
    _order = "date desc, company_id, dimension, name"

    date = fields.Date(required=True, index=True, readonly=True, help="The day of the run (the period's last day).")
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    dimension = fields.Selection(DIMENSIONS, string="Per", required=True, index=True, readonly=True)
    name = fields.Char(string="Group", required=True, readonly=True)
    user_id = fields.Many2one("res.users", string="Collector", readonly=True)
    team_id = fields.Many2one("collection.team", string="Team", readonly=True)
    risk_category_id = fields.Many2one("collection.risk.category", string="Risk Category", readonly=True)
    strategy_id = fields.Many2one("collection.strategy", string="Strategy", readonly=True)
    variant = fields.Char(string="Variant Key", readonly=True)
    agency_id = fields.Many2one("collection.agency", string="Agency", readonly=True)
    period_days = fields.Integer(string="Period (days)", readonly=True, aggregator="max")

    receivables = fields.Monetary(readonly=True, aggregator="avg", help="Open receivables at the end of the day.")
    overdue = fields.Monetary(readonly=True, aggregator="avg", help="Of which past their due date.")
    credit_sales = fields.Monetary(readonly=True, aggregator="avg", help="Invoiced over the period.")
    collected = fields.Monetary(readonly=True, aggregator="avg", help="Received over the period.")
    collection_cost = fields.Monetary(
        readonly=True,
        aggregator="avg",
        help="Cost of the contacts of the period and of the collection agencies' commissions.",
    )
    dso = fields.Float(
        string="DSO", digits=(16, 1), readonly=True, aggregator="avg", help="Days sales outstanding (standard)."
    )
    dso_countback = fields.Float(
        string="DSO (Countback)",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="Days of the latest sales that the receivables amount to.",
    )
    best_possible_dso = fields.Float(
        string="Best Possible DSO", digits=(16, 1), readonly=True, aggregator="avg", help="DSO of what is not due."
    )
    average_days_delinquent = fields.Float(
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="DSO less the best possible DSO.",
    )
    cei = fields.Float(
        string="CEI (%)",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="Collection effectiveness index: what was collected of what could have been, in percent.",
    )
    pct_customers_delinquent = fields.Float(
        string="Customers Delinquent (%)", digits=(16, 1), readonly=True, aggregator="avg"
    )
    pct_amount_delinquent = fields.Float(
        string="Amount Delinquent (%)", digits=(16, 1), readonly=True, aggregator="avg"
    )
    recovery_rate = fields.Float(
        string="Recovery Rate (%)",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="Of what was overdue at the start of the period, the share recovered by its end.",
    )
    promise_kept_rate = fields.Float(string="Promises Kept (%)", digits=(16, 1), readonly=True, aggregator="avg")
    cost_per_collection = fields.Float(
        digits=(16, 2),
        readonly=True,
        aggregator="avg",
        help="Cost of the contacts and agency commissions per unit of currency collected over the period.",
    )
    customers_with_balance = fields.Integer(readonly=True, aggregator="avg")
    customers_delinquent = fields.Integer(readonly=True, aggregator="avg")
    promises_due = fields.Integer(readonly=True, aggregator="avg")
    actions = fields.Integer(string="Contacts", readonly=True, aggregator="avg")

    @api.model
    def _company_book(self, company, policy, as_of):
        """The company's whole ledger as the engine reads it, for the day's KPIs and payment prediction:
        items open or dated in the last 36 months (the countback DSO's sales, the prediction's history) or
        reconciled since the KPI period began, their payments, the promises and the contact history.
        Returns (portfolio, history, partner ids); no partner, no book (None)."""
        run = self.env["collection.run"]
        today = local_today(policy, as_of)
        start = today - timedelta(days=policy.kpi.period_days)
        since = min(start, today - relativedelta(months=COUNTBACK_MONTHS))
        partner_ids = self._partners_since(company, since, start)
        if not partner_ids:
            return None
        portfolio = Portfolio(
            company_currency=company.currency_id.name,
            customers=(),  # the groups come from the cases
            items=tuple(run._read_items(company, partner_ids, since, settled_since=start)),
            payments=tuple(run._read_payments(company, partner_ids, since)),
            promises=tuple(run._read_promises(company, partner_ids)),
        )
        return portfolio, run._read_history(company, partner_ids), partner_ids

    @api.model
    def _take(self, company, policy, as_of, book):
        """Compute and store the day's snapshots of a company (replacing those of the same day)."""
        today = local_today(policy, as_of)
        portfolio, history, partner_ids = book
        cases = self.env["collection.case"].search([("company_id", "=", company.id), ("partner_id", "in", partner_ids)])
        by_partner = {str(case.partner_id.id): case for case in cases}
        values = []
        costs = self._other_costs(company, partner_ids)
        overall = compute_kpis(portfolio, policy, history, as_of, other_costs=costs).overall
        values.append(self._values(company, today, policy, "company", company.name, {}, overall))
        for dimension, key_of, fields_of, label_of in self._dimensions():
            groups = {partner: key_of(case) for partner, case in by_partner.items() if key_of(case)}
            report = compute_kpis(
                portfolio, policy, history, as_of, grouping=dimension, groups=groups, other_costs=costs
            )
            samples = {key_of(case): case for case in cases if key_of(case)}
            for key, kpis in report.groups.items():
                case = samples.get(key)
                label = label_of(case) if case else _("Unassigned")
                values.append(
                    self._values(company, today, policy, dimension, label, fields_of(case) if case else {}, kpis)
                )
        # computed records: nobody writes them by hand (users read them), the run keeps them
        snapshots = self.sudo()
        snapshots.search([("company_id", "=", company.id), ("date", "=", today)]).unlink()
        return snapshots.create(values)

    @api.model
    def _other_costs(self, company, partner_ids):
        """Costs of collection that are no contacts: the agencies' commissions on what they recovered."""
        recoveries = self.env["collection.agency.recovery"].search(
            [("company_id", "=", company.id), ("partner_id", "in", partner_ids)]
        )
        return tuple(
            CollectionCost(str(r.partner_id.commercial_partner_id.id), r.date, Decimal(str(r.commission_amount)))
            for r in recoveries
        )

    @api.model
    def _dimensions(self):
        """(dimension, the group key of a case, its fields on the snapshot, its label)."""
        return [
            (
                "collector",
                lambda case: case.user_id and str(case.user_id.id),
                lambda case: {"user_id": case.user_id.id},
                lambda case: case.user_id.name,
            ),
            (
                "team",
                lambda case: case.team_id and str(case.team_id.id),
                lambda case: {"team_id": case.team_id.id},
                lambda case: case.team_id.name,
            ),
            (
                "risk_category",
                lambda case: case.risk_category_id and str(case.risk_category_id.id),
                lambda case: {"risk_category_id": case.risk_category_id.id},
                lambda case: case.risk_category_id.name,
            ),
            (
                "variant",
                lambda case: case.strategy_id and f"{case.strategy_id.id}/{case.variant or ''}",
                lambda case: {"strategy_id": case.strategy_id.id, "variant": case.variant},
                lambda case: case.variant_name,
            ),
            (
                # every customer with a case is either with an agency or collected in-house
                "agency",
                lambda case: str(case.agency_id.id) if case.agency_id else "in_house",
                lambda case: {"agency_id": case.agency_id.id},
                lambda case: case.agency_id.name if case.agency_id else case.env._("In-house"),
            ),
        ]

    @api.model
    def _values(self, company, today, policy, dimension, label, extra, kpis):
        values = {
            "date": today,
            "company_id": company.id,
            "dimension": dimension,
            "name": label,
            "period_days": policy.kpi.period_days,
            **extra,
        }
        for name in MONEY:
            values[name] = float(getattr(kpis, name))
        for name in RATIOS + COUNTS:
            value = getattr(kpis, name)
            values[name] = value or 0  # a ratio with nothing to measure (no sales, nothing overdue) reads 0
        return values

    @api.model
    def _partners_since(self, company, since: date, settled_since: date):
        """Commercial partners with receivables open now, dated since a date or reconciled since another."""
        self.env.cr.execute(
            f"""
            SELECT DISTINCT move.commercial_partner_id
            {OPEN_RECEIVABLE_LINES}
               AND move.commercial_partner_id IS NOT NULL
             UNION
            SELECT DISTINCT move.commercial_partner_id
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN account_move move ON move.id = line.move_id
             WHERE line.company_id = %(company)s
               AND line.parent_state = 'posted'
               AND account.account_type = 'asset_receivable'
               AND move.commercial_partner_id IS NOT NULL
               AND (line.date >= %(since)s
                    OR EXISTS (SELECT 1 FROM account_partial_reconcile partial
                                WHERE (partial.debit_move_id = line.id OR partial.credit_move_id = line.id)
                                  AND partial.max_date >= %(settled_since)s))
             ORDER BY 1
            """,
            {"company": company.id, "since": since, "settled_since": settled_since},
        )
        return [row[0] for row in self.env.cr.fetchall()]
