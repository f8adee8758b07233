"""The main screens walked in a real browser (Chromium), as a manager, a collector and a portal customer, in
English and in Spanish (static/tests/tours/collections_tours.js).

A tour fails on a missing step and on any error in the browser's console; the last two tests prove it.
The HTTP server is Odoo's own, on the port it was started with (odoo-bin --http-port).
"""

import importlib.util
import shutil
import unittest
from datetime import timedelta

import lxml.html

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

# the names under which Odoo's test browser looks for Chrome (odoo.tests.common._find_executable)
CHROME_NAMES = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")


@tagged("post_install", "-at_install")
class TestCollectionsTours(AccountTestInvoicingHttpCommon):
    @classmethod
    def setUpClass(cls):
        if not any(shutil.which(name) for name in CHROME_NAMES):
            raise unittest.SkipTest(
                "Chromium is not installed (Debian package chromium): the browser tours of Collections need it"
            )
        if importlib.util.find_spec("websocket") is None:
            raise unittest.SkipTest(
                "websocket-client is not installed in Odoo's Python: Odoo's test browser needs it to drive Chromium"
            )
        super().setUpClass()
        cls.env.user.groups_id += cls.env.ref("account_collections.group_collection_manager")
        cls.env["res.lang"]._activate_lang("es_ES")
        modules = ["web", "mail", "portal", "account", "account_collections"]
        cls.env["ir.module.module"]._load_module_terms(modules, ["es_ES"], overwrite=True)
        company = cls.env.company
        ref = cls.env.ref
        cls.manager = cls._user(
            "Marta Manager",
            "collections-tour-manager",
            [ref("account_collections.group_collection_manager"), ref("base.group_system")],
        )
        cls.collector = cls._user(
            "Carlos Collector", "collections-tour-collector", [ref("account_collections.group_collection_user")]
        )
        accounts_payable = cls.env["res.partner"].create(
            {"name": "Ana Pérez", "parent_id": cls.partner_a.id, "email": "ana@partner-a.example.com"}
        )
        cls.portal = cls.env["res.users"].create(
            {
                "name": "Ana Pérez",
                "login": "collections-tour-portal",
                "password": "collections-tour-portal",
                "partner_id": accounts_payable.id,
                "groups_id": [(6, 0, ref("base.group_portal").ids)],
            }
        )
        company.write(
            {
                "collection_setup_done": True,
                "collection_tz": "UTC",
                "collection_hours": "00:00-23:59",  # the actions are due whenever the tests run
                "collection_weekdays": "1,2,3,4,5,6,7",
                "collection_default_user_id": cls.collector.id,
            }
        )
        today = fields.Date.context_today(cls.env.user)
        cls.partner_a.write({"phone": "+34 600 111 222", "email": "ap@partner-a.example.com"})
        cls.partner_b.write({"email": "ap@partner-b.example.com"})
        # 40 days overdue: the collector's call; 10 days overdue: a first reminder by email
        cls.init_invoice(
            "out_invoice", cls.partner_a, invoice_date=today - timedelta(days=40), amounts=[1750.0], taxes=[], post=True
        )
        cls.init_invoice(
            "out_invoice", cls.partner_b, invoice_date=today - timedelta(days=10), amounts=[320.0], taxes=[], post=True
        )
        cls.env["collection.run"]._run_company(company)
        cls.case_a = cls.env["collection.case"].search([("partner_id", "=", cls.partner_a.id)])
        assert cls.case_a.action_ids.filtered(lambda a: a.channel == "call" and a.state == "to_do"), "no call to log"

    @classmethod
    def _user(cls, name, login, groups):
        company = cls.env.company
        return (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": name,
                    "login": login,
                    "password": login,
                    "email": f"{login}@example.com",  # the reminders' sender
                    "company_id": company.id,
                    "company_ids": [(6, 0, company.ids)],
                    "groups_id": [(6, 0, [group.id for group in groups])],
                }
            )
        )

    def tour(self, tour, user, lang, url="/odoo"):
        user.lang = lang
        self.start_tour(url, tour, login=user.login, timeout=120)

    # a manager: the cases kanban with its column totals, a case, the worklist, a strategy's level dialog, settings

    def test_a_manager_walks_cases_worklist_strategy_and_settings_in_english(self):
        self.tour("account_collections_manager", self.manager, "en_US")

    def test_a_manager_walks_cases_worklist_strategy_and_settings_in_spanish(self):
        self.tour("account_collections_manager", self.manager, "es_ES")

    # a manager of a company not set up yet: the setup, saved

    def check_the_setup(self, lang):
        self.env.company.collection_setup_done = False
        self.tour("account_collections_setup", self.manager, lang)
        self.env.company.invalidate_recordset()
        self.assertTrue(self.env.company.collection_setup_done)
        self.assertEqual(self.env.company.collection_hours, "08:30-14:30")

    def test_a_manager_of_a_new_company_is_offered_the_setup_in_english(self):
        self.check_the_setup("en_US")

    def test_a_manager_of_a_new_company_is_offered_the_setup_in_spanish(self):
        self.check_the_setup("es_ES")

    # a collector: My Worklist, a call logged with a promise

    def check_the_call(self, lang):
        self.tour("account_collections_collector", self.collector, lang)
        self.case_a.invalidate_recordset()
        self.assertEqual(self.case_a.promise_ids.mapped("amount"), [500.0])
        self.assertFalse(self.case_a.action_ids.filtered(lambda a: a.channel == "call" and a.state == "to_do"))

    def test_a_collector_logs_a_call_from_the_worklist_in_english(self):
        self.check_the_call("en_US")

    def test_a_collector_logs_a_call_from_the_worklist_in_spanish(self):
        self.check_the_call("es_ES")

    # a customer: the payments due in the portal, a promise

    def check_the_promise(self, lang):
        self.tour("account_collections_portal", self.portal, lang, url="/my")
        self.case_a.invalidate_recordset()
        self.assertEqual(self.case_a.promise_ids.mapped("amount"), [1750.0])  # pre-filled with the amount due

    def test_a_customer_promises_to_pay_in_the_portal_in_english(self):
        self.check_the_promise("en_US")

    def test_a_customer_promises_to_pay_in_the_portal_in_spanish(self):
        self.check_the_promise("es_ES")

    # a customer without an account: the opt-out link of a reminder email

    def test_a_customer_opts_out_of_sms_from_the_email_s_link_without_logging_in(self):
        case_b = self.env["collection.case"].search([("partner_id", "=", self.partner_b.id)])
        email = case_b.message_ids.filtered(lambda m: m.message_type == "comment" and m.subject)[:1]
        self.assertTrue(email, "the first reminder of partner_b was sent by email")
        (link,) = lxml.html.fromstring(email.body).xpath("//a[contains(@href, '/preferences?access_token=')]/@href")
        self.assertFalse(self.partner_b.collection_opt_out_sms)
        self.start_tour(link.removeprefix(case_b.get_base_url()), "account_collections_opt_out_by_link", timeout=120)
        self.assertTrue(self.partner_b.collection_opt_out_sms)
        self.assertFalse(self.partner_a.collection_opt_out_sms)
        log = self.partner_b.collection_consent_log_ids.filtered(lambda entry: entry.change == "opt_out")
        self.assertEqual(
            [(entry.channel_id.key, entry.source, entry.signed_link) for entry in log], [("sms", "portal", True)]
        )

    def test_a_tour_with_a_missing_step_fails(self):
        # the tour's error and the browser's console are this test's to expect, not the run's errors
        with mute_logger(f"{type(self).__module__}.{type(self).__name__}"), self.assertRaises(AssertionError) as failed:
            self.start_tour("/odoo", "account_collections_missing_step", login=self.manager.login)
        self.assertIn("o_collections_no_such_element", str(failed.exception))

    def test_an_error_in_the_browser_s_console_fails_the_tour(self):
        with mute_logger(f"{type(self).__module__}.{type(self).__name__}"), self.assertRaises(AssertionError) as failed:
            self.start_tour("/odoo", "account_collections_console_error", login=self.manager.login)
        self.assertIn("an error in the browser's console", str(failed.exception))
