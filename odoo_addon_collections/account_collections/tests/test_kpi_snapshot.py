from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from .common import NOW, CollectionsCase


@tagged("post_install", "-at_install")
class TestKpiSnapshot(CollectionsCase):
    """The daily run records the KPIs of the day, computed from the whole ledger, per company and per group."""

    def setUp(self):
        super().setUp()
        with freeze_time(NOW):
            # overdue since 1 July (before the 90-day period began on 26 August), 400 recovered on 1 October
            self.old = self.invoice(1000.0, "2026-07-01")
            self.pay(self.old, 400.0, "2026-10-01")
            self.recent = self.invoice(500.0, "2026-11-19")  # 5 days overdue
            self.not_due = self.invoice(
                300.0,
                "2026-11-20",
                partner=self.partner_b,
                payment_term=self.env.ref("account.account_payment_term_30days"),
            )
        self.Snapshot = self.env["collection.kpi.snapshot"]

    def ledger_receivables(self):
        lines = self.env["account.move.line"].search(
            [
                ("company_id", "=", self.env.company.id),
                ("parent_state", "=", "posted"),
                ("account_id.account_type", "=", "asset_receivable"),
            ]
        )
        return sum(lines.mapped("amount_residual"))

    @freeze_time(NOW)
    def test_the_company_s_kpis_of_the_day_agree_with_the_ledger(self):
        self.run_collections()
        (company,) = self.Snapshot.search([("dimension", "=", "company")])
        self.assertEqual(str(company.date), "2026-11-24")
        self.assertEqual(company.period_days, 90)
        self.assertEqual(company.name, self.env.company.name)
        self.assertAlmostEqual(company.receivables, self.ledger_receivables())
        self.assertAlmostEqual(company.receivables, 1400.0)
        self.assertAlmostEqual(company.overdue, 1100.0)  # 600 left of the old one and the recent one
        self.assertEqual(company.customers_with_balance, 2)
        self.assertEqual(company.customers_delinquent, 1)
        self.assertAlmostEqual(company.pct_customers_delinquent, 50.0)
        self.assertAlmostEqual(company.pct_amount_delinquent, 1100 / 1400 * 100, places=1)
        self.assertAlmostEqual(company.credit_sales, 800.0)  # invoiced since 26 August
        self.assertAlmostEqual(company.recovery_rate, 40.0)  # 400 of the 1,000 overdue when the period began
        self.assertGreater(company.dso, 0)

    @freeze_time(NOW)
    def test_per_collector_team_risk_category_and_variant_the_groups_add_up(self):
        team = self.env["collection.team"].create({"name": "Iberia", "member_ids": [Command.set(self.env.user.ids)]})
        self.run_collections()
        snapshots = self.Snapshot.search([])
        self.assertEqual(
            set(snapshots.mapped("dimension")), {"company", "collector", "team", "risk_category", "variant", "agency"}
        )
        (company,) = snapshots.filtered(lambda s: s.dimension == "company")
        for dimension in ("collector", "team", "risk_category", "variant", "agency"):
            groups = snapshots.filtered(lambda s, d=dimension: s.dimension == d)
            self.assertAlmostEqual(sum(groups.mapped("receivables")), company.receivables, msg=dimension)
            self.assertEqual(sum(groups.mapped("customers_with_balance")), 2, msg=dimension)
        # partner_b owes nothing due yet: no case, so no collector, team or category of its own
        self.assertFalse(self.case(self.partner_b))
        collectors = snapshots.filtered(lambda s: s.dimension == "collector")
        self.assertEqual(
            {(s.user_id, s.name, s.customers_with_balance) for s in collectors},
            {(self.env.user, self.env.user.name, 1), (self.env["res.users"], "Unassigned", 1)},
        )
        teams = snapshots.filtered(lambda s: s.dimension == "team")
        self.assertEqual(
            {(s.team_id, s.name, s.receivables) for s in teams},
            {(team, "Iberia", 1100.0), (self.env["collection.team"], "Unassigned", 300.0)},
        )
        categories = snapshots.filtered(lambda s: s.dimension == "risk_category")
        self.assertEqual(
            categories.risk_category_id, self.case().risk_category_id | self.case(self.partner_b).risk_category_id
        )

    @freeze_time(NOW)
    def test_a_second_run_the_same_day_replaces_the_day_s_snapshots(self):
        self.run_collections()
        first = self.Snapshot.search([])
        self.pay(self.recent, 500.0, "2026-11-24")
        self.run_collections()
        second = self.Snapshot.search([])
        self.assertFalse(first.exists())
        self.assertEqual(len(second), len(first))
        (company,) = second.filtered(lambda s: s.dimension == "company")
        self.assertAlmostEqual(company.receivables, 900.0)

    @freeze_time(NOW)
    def test_a_run_for_some_customers_records_nothing(self):
        self.Run._run_company(self.env.company, partners=self.partner_a)
        self.assertFalse(self.Snapshot.search([]))

    @freeze_time(NOW)
    def test_a_user_of_another_company_sees_none(self):
        self.run_collections()
        other = self.setup_other_company()["company"]
        user = self.env["res.users"].create(
            {
                "name": "Collector B",
                "login": "collector_kpi_b",
                "company_id": other.id,
                "company_ids": [Command.set(other.ids)],
                "groups_id": [Command.set([self.env.ref("account_collections.group_collection_user").id])],
            }
        )
        self.assertTrue(self.Snapshot.search([]))
        self.assertFalse(self.Snapshot.with_user(user).search([]))
