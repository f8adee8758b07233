"""A country's legal contact preset in the configuration, and the case saying why its next contact waits."""

from datetime import datetime

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import CollectionsCase

HOLIDAY = "2026-12-08 15:00:00"  # Tuesday 8 December 2026, 10:00 in Bogotá: Immaculate Conception in Colombia


@tagged("post_install", "-at_install")
class TestContactPresets(CollectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.colombia = cls.env.ref("base.co")
        cls.partner_a.write({"country_id": cls.colombia.id, "tz": False, "is_company": False})
        cls.Rule = cls.env["collection.contact.country"]

    def test_a_countrys_preset_goes_into_the_policy(self):
        rule = self.Rule.create({"country_id": self.colombia.id, "use_preset": True})
        self.assertTrue(rule.preset_available)
        policy = self.Run._policy(self.env.company)
        country = policy.contact.countries["CO"]
        self.assertEqual((country.preset, country.window), ("CO", None))  # the law's hours, not the company's
        self.assertEqual(policy.contact.audience, "b2c")
        self.assertIn("Ley 2300 de 2023", rule.preset_summary)
        self.assertIn("Sunday no contact", rule.preset_summary)
        self.assertIn("Saturday 08:00-15:00", rule.preset_summary)
        self.assertIn("No contact on public holidays.", rule.preset_summary)
        self.assertFalse(self.Rule.new({"country_id": self.env.ref("base.fr").id}).preset_available)

    def test_a_rule_may_tighten_the_preset_never_loosen_it(self):
        rule = self.Rule.create({"country_id": self.colombia.id, "use_preset": True, "hours": "09:00-12:00"})
        self.assertEqual(self.Run._policy(self.env.company).contact.countries["CO"].window.hours, (("09:00", "12:00"),))
        with self.assertRaises(ValidationError) as caught:
            rule.hours = "06:00-21:00"
        self.assertIn("contact.countries.CO.hours", str(caught.exception))
        self.assertIn("outside preset CO/b2c", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            rule.weekday_ids = self.env["collection.weekday"].search([])  # Sundays are closed by the law
        self.assertIn("contact.countries.CO.weekdays", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            rule.max_per_day = 3
        self.assertIn("contact.countries.CO.max_per_day", str(caught.exception))
        rule.write({"max_per_day": 1, "min_days_between": 2})  # tighter: accepted
        self.assertEqual(self.Run._policy(self.env.company).contact.countries["CO"].min_days_between, 2)

    def test_who_is_a_business(self):
        self.Rule.create({"country_id": self.colombia.id, "use_preset": True})
        person, company = self.partner_a, self.partner_b
        company.write({"is_company": True, "country_id": self.colombia.id})
        customers = {c.id: c for c in self.Run._read_customers([person.id, company.id])}
        self.assertEqual((customers[str(person.id)].audience, customers[str(company.id)].audience), (None, "b2b"))
        company.collection_audience = "b2c"
        self.assertEqual(self.Run._read_customers([company.id])[0].audience, "b2c")
        self.env.company.collection_audience = "b2b"
        self.assertEqual(self.Run._policy(self.env.company).contact.audience, "b2b")

    def test_the_case_says_why_its_next_contact_waits_on_a_colombian_holiday(self):
        self.Rule.create({"country_id": self.colombia.id, "use_preset": True})
        self.invoice(1000.0, "2026-10-01")
        with freeze_time(HOLIDAY):
            self.run_collections()
        case = self.case()
        email = case.action_ids.filtered(lambda a: a.channel == "email")
        self.assertEqual(email.not_before, datetime(2026, 12, 9, 12, 0))  # Wednesday 07:00 in Bogotá (UTC-5)
        self.assertEqual(email.state, "scheduled")
        self.assertEqual(
            case.with_context(lang="en_US").contact_wait,
            "Colombia (consumers): no collection contact on public holidays (Tuesday 8 December); "
            "next window Wednesday 9 December 07:00",
        )
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections", "base"], ["es_ES"], overwrite=True)
        self.assertEqual(
            case.with_context(lang="es_ES").contact_wait,
            "Colombia (consumidores): sin contacto de cobranza en días festivos (martes 8 diciembre); "
            "próxima ventana miércoles 9 diciembre 07:00",
        )

    def test_a_business_follows_the_business_preset(self):
        self.Rule.create({"country_id": self.colombia.id, "use_preset": True})
        self.partner_a.is_company = True
        self.invoice(1000.0, "2026-10-01")
        with freeze_time("2026-12-05 18:00:00"):  # Saturday 13:00 in Bogotá: consumers yes (until 15:00)
            self.run_collections()
        case = self.case()
        email = case.action_ids.filtered(lambda a: a.channel == "email")
        self.assertEqual(email.not_before, datetime(2026, 12, 7, 13, 0))  # businesses: Monday 08:00
        self.assertIn("Colombia (businesses)", case.with_context(lang="en_US").contact_wait)
