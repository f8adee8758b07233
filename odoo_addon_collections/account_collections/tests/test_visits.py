from urllib.parse import parse_qs, urlsplit

import lxml.html
from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import NOW, CollectionsCase, text


@tagged("post_install", "-at_install")
class TestVisits(CollectionsCase):
    """A level that visits the customer: the collector's task, the day's round, the outcome, the cost."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # every strategy's collector level (30 days overdue; 10 in the early-call variant) visits instead of calling
        cls.env["collection.level"].search([("key", "=", "call")]).write({"use_call": False, "use_visit": True})
        cls.env.company.collection_cost_visit = 27.5
        cls.visit_type = cls.env.ref("account_collections.mail_activity_data_collection_visit")

    def visits(self, partner=None):
        return self.case(partner).action_ids.filtered(lambda a: a.channel == "visit")

    def customer(self, name, street, zip_code, city):
        return self.env["res.partner"].create(
            {
                "name": name,
                "street": street,
                "zip": zip_code,
                "city": city,
                "email": f"{name.split()[0].lower()}@example.com",
                "property_payment_term_id": self.pay_terms_a.id,  # immediate, as partner_a's
            }
        )

    @freeze_time(NOW)
    def test_a_visit_is_the_collectors_activity_with_the_address_and_a_map_link(self):
        move = self.invoice(1000.0, "2026-10-20")  # 35 days overdue: the collector's level
        self.run_collections()
        (visit,) = self.visits()
        self.assertEqual((visit.state, visit.level_key), ("to_do", "call"))
        self.assertEqual((visit.visit_zip, visit.visit_city), ("28013", "Madrid"))
        self.assertEqual(visit.cost, 27.5)  # the company's cost of a visit, counted in the KPIs' cost
        activity = visit.activity_id
        self.assertEqual((activity.activity_type_id, activity.user_id), (self.visit_type, self.env.user))
        self.assertEqual(activity.date_deadline, fields.Date.to_date("2026-11-24"))
        note = lxml.html.fromstring(str(activity.note))
        self.assertIn(f"Visit {self.partner_a.display_name} at Calle Mayor 1, 28013 Madrid", text(note))
        (link,) = note.xpath("//a")
        url = urlsplit(link.get("href"))
        self.assertEqual((url.scheme, url.netloc, url.path), ("https", "www.openstreetmap.org", "/search"))
        self.assertTrue(parse_qs(url.query)["query"][0].startswith("Calle Mayor 1, 28013 Madrid"))
        # what to collect: the statement's amount and invoice, as on a call task
        self.assertIn(self.money(1000.0), text(note))
        self.assertIn(move.name, text(note))

    @freeze_time(NOW)
    def test_the_days_visits_of_a_collector_by_postal_code_then_city(self):
        partners = [
            self.customer("Sur", "Calle Sur 2", "41001", "Sevilla"),
            self.customer("Centro", "Gran Vía 3", "28013", "Madrid"),
            self.customer("Norte", "Calle Norte 4", "08001", "Barcelona"),
        ]
        for partner in partners:
            self.invoice(500.0, "2026-10-20", partner=partner)
        self.run_collections()
        today = fields.Date.to_date("2026-11-24")
        round_ = self.env["collection.action"]._visits_of_day(self.env.user, today)
        self.assertEqual(round_.mapped("visit_zip"), ["08001", "28013", "41001"])
        self.assertEqual(round_.partner_id.mapped("name"), ["Norte", "Centro", "Sur"])
        # the menu's list shows the same visits in the same order
        action = self.env["collection.action"].action_my_visits_today()
        arch = lxml.html.fromstring(self.env.ref("account_collections.collection_action_view_list_visits").arch)
        listed = self.env["collection.action"].search(action["domain"], order=arch.get("default_order"))
        self.assertEqual(listed, round_)
        # nobody else's round, and not tomorrow's
        self.assertFalse(self.env["collection.action"]._visits_of_day(self.env["res.users"].browse(1), today))
        round_[:1].state = "done"
        self.assertEqual(self.env["collection.action"]._visits_of_day(self.env.user, today), round_[1:])

    @freeze_time(NOW)
    def test_a_visits_outcome_is_logged_like_a_call(self):
        self.invoice(1000.0, "2026-10-20")
        self.run_collections()
        (visit,) = self.visits()
        action = visit.action_log_call()
        self.assertEqual(action["context"]["default_channel"], "visit")
        wizard = (
            self.env["collection.log.call"]
            .with_context(**action["context"])
            .create(
                {"outcome": "promised", "promised_date": "2026-12-01", "promised_amount": 400.0, "note": "at the shop"}
            )
        )
        wizard.action_log()
        self.assertEqual((visit.state, visit.outcome), ("done", "promised"))
        self.assertFalse(self.case().activity_ids.filtered(lambda a: a.activity_type_id == self.visit_type))
        logged = self.case().action_ids.filtered(lambda a: a.key.startswith("manual-visit-"))
        self.assertEqual((logged.channel, logged.outcome, logged.cost), ("visit", "promised", 27.5))
        self.assertEqual(self.case().promise_ids.amount, 400.0)
        body = text(lxml.html.fromstring(str(self.case().message_ids[0].body)))
        self.assertIn("Visit logged: Promised to pay. at the shop", body)
        self.assertIn(f"Cost of the visit: {self.money(27.5)}", body)

    @freeze_time(NOW)
    def test_no_visit_to_an_opted_out_customer_nor_to_one_without_an_address(self):
        self.partner_a.collection_opt_out_visit = True
        nowhere = self.customer("Sin Dirección", False, False, "Lima")
        somewhere = self.customer("Con Dirección", "Calle Real 5", "28001", "Madrid")
        for partner in (self.partner_a, nowhere, somewhere):
            self.invoice(1000.0, "2026-10-20", partner=partner)
        self.run_collections()
        for partner in (self.partner_a, nowhere):
            self.assertTrue(self.case(partner), "the case is open")
            self.assertFalse(self.visits(partner))
        self.assertEqual(self.visits(somewhere).state, "to_do")  # the same level visits whoever it can

    @freeze_time(NOW)
    def test_an_invoice_contact_without_an_address_is_visited_at_the_companys(self):
        company = self.customer("Levante", "Avenida del Puerto 112", "46023", "Valencia")
        self.env["res.partner"].create({"name": "Lucía", "type": "invoice", "parent_id": company.id, "email": "l@x.es"})
        self.invoice(1000.0, "2026-10-20", partner=company)
        self.run_collections()
        visit = self.visits(company)
        self.assertEqual((visit.visit_zip, visit.visit_city), ("46023", "Valencia"))
        self.assertIn("Avenida del Puerto 112, 46023 Valencia", text(lxml.html.fromstring(str(visit.activity_id.note))))
