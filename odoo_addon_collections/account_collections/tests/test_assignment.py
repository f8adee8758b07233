from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

NOW = "2026-11-24 10:00:00"  # a Tuesday, inside the default contact window
OVERDUE_35_DAYS = "2026-10-20"  # immediate term: a call for the collector, i.e. an activity


@tagged("post_install", "-at_install")
class TestAssignment(AccountTestInvoicingCommon):
    """Who owns the work: the daily run gives cases a real collector, never OdooBot."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id += cls.env.ref("account_collections.group_collection_manager")
        cls.company = cls.env.company
        cls.company.collection_tz = "UTC"
        cls.odoobot = cls.env.ref("base.user_root")
        cls.ana, cls.ben, cls.carla = (cls.new_collector(name) for name in ("Ana", "Ben", "Carla"))
        cls.partner_a.mobile = "+34600111222"
        cls.Rule = cls.env["collection.assignment.rule"]
        cls.Case = cls.env["collection.case"]

    @classmethod
    def new_collector(cls, name, groups="account_collections.group_collection_user", **values):
        return new_test_user(
            cls.env(su=True),
            login=f"collections-{name.lower()}",
            name=name,  # never a demo user's login
            groups=f"base.group_user,{groups}" if groups else "base.group_user",
            company_id=cls.env.company.id,
            company_ids=[Command.set(cls.env.company.ids)],
            **values,
        ).with_env(cls.env)

    def invoice(self, partner, invoice_date=OVERDUE_35_DAYS):
        with freeze_time(NOW):
            return self.init_invoice(
                "out_invoice", partner=partner, invoice_date=invoice_date, amounts=[1000.0], taxes=[], post=True
            )

    def run_as_odoobot(self):
        """The daily run as the cron runs it: as OdooBot, in the company."""
        with freeze_time(NOW):
            self.env["collection.run"].with_user(self.odoobot).with_company(self.company)._run_company(self.company)

    def case(self, partner=None):
        partner = partner or self.partner_a
        return self.Case.search([("partner_id", "=", partner.id), ("company_id", "=", self.company.id)])

    def new_customers(self, count):
        customers = self.env["res.partner"].create([{"name": f"Customer {n}"} for n in range(count)])
        for customer in customers:
            self.invoice(customer)
        return customers

    def team(self, *members):
        return self.env["collection.team"].create(
            {"name": "Iberia", "member_ids": [Command.link(m.id) for m in members]}
        )

    # ------------------------------------------------------------
    # NEVER A SYSTEM USER
    # ------------------------------------------------------------

    def test_without_rule_nor_default_the_case_stays_unassigned(self):
        self.invoice(self.partner_a)
        self.run_as_odoobot()
        case = self.case()
        self.assertTrue(case)
        self.assertFalse(case.user_id)  # not OdooBot, who ran the job
        call = case.action_ids.filtered(lambda a: a.channel == "call")
        self.assertEqual(call.state, "to_do")
        self.assertFalse(case.activity_ids)  # a task waits for a collector
        self.assertNotIn(self.odoobot.partner_id, case.message_partner_ids)
        action = self.env.ref("account_collections.action_collection_case_unassigned")
        self.assertIn("search_default_unassigned", action.context)
        search_view = self.Case.get_views([(False, "search")])["views"]["search"]["arch"]
        self.assertIn('name="unassigned"', search_view)
        self.assertIn(case, self.Case.search([("user_id", "=", False)]))  # the filter's domain

    def test_the_default_collector_gets_the_case_and_follows_it(self):
        self.company.collection_default_user_id = self.ana
        self.invoice(self.partner_a)
        self.run_as_odoobot()
        case = self.case()
        self.assertEqual(case.user_id, self.ana)
        self.assertIn(self.ana.partner_id, case.message_partner_ids)  # replies notify her
        self.assertEqual(case.activity_ids.user_id, self.ana)  # the call is her task
        self.assertEqual(case.action_ids.filtered(lambda a: a.channel == "call").activity_id.user_id, self.ana)

    def test_a_system_default_collector_is_ignored(self):
        self.company.collection_default_user_id = self.odoobot
        self.invoice(self.partner_a)
        self.run_as_odoobot()
        self.assertFalse(self.case().user_id)

    def test_a_collector_given_later_gets_the_waiting_tasks(self):
        self.invoice(self.partner_a)
        self.run_as_odoobot()  # unassigned: the call has no activity
        case = self.case()
        case.user_id = self.ben
        self.assertEqual(case.activity_ids.user_id, self.ben)
        self.assertIn(self.ben.partner_id, case.message_partner_ids)

    def test_an_unassigned_case_is_assigned_by_the_next_run_once_a_rule_exists(self):
        self.invoice(self.partner_a)
        self.run_as_odoobot()
        self.assertFalse(self.case().user_id)
        self.Rule.create({"name": "Ana", "method": "user", "user_id": self.ana.id})
        self.run_as_odoobot()
        self.assertEqual(self.case().user_id, self.ana)

    # ------------------------------------------------------------
    # RULES
    # ------------------------------------------------------------

    def test_the_salesperson_rule_gives_the_customer_to_its_salesperson(self):
        self.company.collection_default_user_id = self.carla
        self.partner_a.user_id = self.ben
        self.Rule.create({"name": "Salespeople", "method": "salesperson"})
        self.invoice(self.partner_a)
        without_salesperson = self.new_customers(1)
        self.run_as_odoobot()
        self.assertEqual(self.case().user_id, self.ben)
        self.assertEqual(self.case(without_salesperson).user_id, self.carla)  # no rule gave one: the default

    def test_a_fixed_collector_rule_applies_to_its_risk_categories_only(self):
        self.invoice(self.partner_a)
        self.run_as_odoobot()
        case = self.case()
        category = case.risk_category_id
        self.assertTrue(category)
        others = self.env["collection.risk.category"].search([("id", "!=", category.id)])
        self.Rule.create(
            [
                {
                    "name": "Others",
                    "sequence": 1,
                    "method": "user",
                    "user_id": self.carla.id,
                    "risk_category_ids": [Command.set(others.ids)],
                },
                {
                    "name": "This category",
                    "sequence": 2,
                    "method": "user",
                    "user_id": self.ana.id,
                    "risk_category_ids": [Command.set(category.ids)],
                },
            ]
        )
        case._assign_collectors()
        self.assertEqual(case.user_id, self.ana)

    def test_round_robin_gives_the_team_members_cases_in_turn(self):
        team = self.team(self.ben, self.ana)
        rule = self.Rule.create({"name": "In turn", "method": "team_round_robin", "team_id": team.id})
        customers = self.new_customers(4)
        self.run_as_odoobot()
        cases = self.Case.search([("partner_id", "in", customers.ids)], order="id")
        self.assertEqual([case.user_id.name for case in cases], ["Ana", "Ben", "Ana", "Ben"])
        self.assertEqual(rule.last_assigned_user_id, self.ben)
        later = self.new_customers(1)
        self.run_as_odoobot()
        self.assertEqual(self.case(later).user_id, self.ana)  # the turn goes on from run to run

    def test_load_balancing_picks_the_member_with_the_fewest_open_cases(self):
        self.Rule.create({"name": "By load", "method": "team_load", "team_id": self.team(self.ana, self.ben).id})
        closed = self.env.ref("account_collections.stage_closed")
        owing = self.new_customers(3)  # their cases stay open through the run
        settled = self.env["res.partner"].create([{"name": "Settled"}, {"name": "Archived"}])
        self.Case.create(
            [
                {"partner_id": owing[0].id, "user_id": self.ana.id},
                {"partner_id": owing[1].id, "user_id": self.ana.id},
                {"partner_id": owing[2].id, "user_id": self.ben.id},
                {"partner_id": settled[0].id, "user_id": self.ben.id, "stage_id": closed.id},  # not counted
                {"partner_id": settled[1].id, "user_id": self.ben.id, "active": False},  # not counted
            ]
        )
        customers = self.new_customers(3)
        self.run_as_odoobot()
        cases = self.Case.search([("partner_id", "in", customers.ids)], order="id")
        # open cases before: Ana 2, Ben 1 -> Ben; 2 each -> Ana (the first by id); Ana 3, Ben 2 -> Ben
        self.assertEqual([case.user_id.name for case in cases], ["Ben", "Ana", "Ben"])

    def test_an_invalid_rule_collector_is_skipped_for_the_next_rule(self):
        archived = self.new_collector("Archived")
        archived.active = False
        portal = self.new_collector("Portal", groups=None, groups_id=self.env.ref("base.group_portal").ids)
        other_company = self.env["res.company"].sudo().create({"name": "Other Company"})
        elsewhere = new_test_user(
            self.env(su=True),
            login="elsewhere",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        self.partner_a.user_id = self.odoobot
        self.Rule.create(
            [
                {"name": "Archived", "sequence": 1, "method": "user", "user_id": archived.id},
                {"name": "Portal", "sequence": 2, "method": "user", "user_id": portal.id},
                {"name": "Elsewhere", "sequence": 3, "method": "user", "user_id": elsewhere.id},
                {"name": "OdooBot sells", "sequence": 4, "method": "salesperson"},
                {
                    "name": "Team without valid members",
                    "sequence": 5,
                    "method": "team_load",
                    "team_id": self.team(archived, portal).id,
                },
                {"name": "Carla", "sequence": 6, "method": "user", "user_id": self.carla.id},
            ]
        )
        self.invoice(self.partner_a)
        self.run_as_odoobot()
        self.assertEqual(self.case().user_id, self.carla)

    def test_a_rule_needs_its_collector_or_team(self):
        with self.assertRaises(ValidationError):
            self.Rule.create({"name": "Nobody", "method": "user"})
        with self.assertRaises(ValidationError):
            self.Rule.create({"name": "No team", "method": "team_round_robin"})

    # ------------------------------------------------------------
    # REASSIGNMENT
    # ------------------------------------------------------------

    def test_reassigning_a_case_moves_its_open_activities_to_the_new_collector(self):
        self.company.collection_default_user_id = self.ana
        self.invoice(self.partner_a)
        self.run_as_odoobot()
        case = self.case()
        call = case.action_ids.filtered(lambda a: a.channel == "call").activity_id
        self.assertEqual(call.user_id, self.ana)
        carlas = case.activity_schedule(
            "mail.mail_activity_data_todo", summary="Check the VAT number", user_id=self.carla.id
        )
        orphan = case.activity_schedule(
            "mail.mail_activity_data_todo", summary="Left by the bot", user_id=self.odoobot.id
        )
        case.user_id = self.ben
        self.assertEqual(call.user_id, self.ben)
        self.assertEqual(orphan.user_id, self.ben)  # no valid owner: the collector's
        self.assertEqual(carlas.user_id, self.carla)  # someone else's task stays theirs
        self.assertIn(self.ben.partner_id, case.message_partner_ids)

    def test_changing_the_collector_changes_the_team(self):
        iberia = self.team(self.ana)
        benelux = self.env["collection.team"].create({"name": "Benelux", "member_ids": [Command.set(self.ben.ids)]})
        case = self.Case.create({"partner_id": self.partner_a.id, "user_id": self.ana.id})
        self.assertEqual(case.team_id, iberia)
        case.user_id = self.ben
        self.assertEqual(case.team_id, benelux)
        case.user_id = False
        self.assertFalse(case.team_id)
