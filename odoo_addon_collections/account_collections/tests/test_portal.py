import re

import lxml.html
from freezegun import freeze_time

from odoo import http
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from .common import sections, text


@tagged("post_install", "-at_install")
class TestCollectionPortal(AccountTestInvoicingHttpCommon):
    """A customer sees only their own collection case in the portal, and can promise or dispute there."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id += cls.env.ref("account_collections.group_collection_manager")
        cls.env.company.collection_default_user_id = cls.env.user  # the collector of the cases the run opens
        cls.env.company.collection_tz = "UTC"
        portal = cls.env.ref("base.group_portal")
        cls.portal_a = cls.env["res.users"].create(
            {
                "name": "AP of A",
                "login": "portal_a",
                "password": "portal_a_pw",
                "partner_id": cls.partner_a.id,
                "groups_id": [(6, 0, portal.ids)],
            }
        )
        cls.portal_b = cls.env["res.users"].create(
            {
                "name": "AP of B",
                "login": "portal_b",
                "password": "portal_b_pw",
                "partner_id": cls.partner_b.id,
                "groups_id": [(6, 0, portal.ids)],
            }
        )
        cls.move = cls.init_invoice(
            "out_invoice", partner=cls.partner_a, invoice_date="2026-10-01", amounts=[700.0], taxes=[], post=True
        )
        with freeze_time("2026-11-24 10:00:00"):
            cls.env["collection.run"]._run_company(cls.env.company)
        cls.case = cls.env["collection.case"].search([("partner_id", "=", cls.partner_a.id)])

    def test_the_customer_sees_what_is_due_and_others_do_not(self):
        self.authenticate("portal_a", "portal_a_pw")
        page = self.url_open("/my/collections")
        self.assertEqual(page.status_code, 200)
        self.assertIn(self.move.name, page.text)
        self.assertIn(self.move.get_portal_url(), page.text)  # pay it on the invoice's portal page
        self.authenticate("portal_b", "portal_b_pw")
        page = self.url_open("/my/collections")
        self.assertNotIn(self.move.name, page.text)
        refused = self.url_open(
            f"/my/collections/{self.case.id}/promise",
            data={"promised_date": "2026-12-01", "amount": "100", "csrf_token": http.Request.csrf_token(self)},
        )
        self.assertEqual(refused.status_code, 404)
        self.assertFalse(self.case.promise_ids)

    @freeze_time("2026-11-24 10:00:00")
    def test_a_promise_made_in_the_portal_pauses_dunning(self):
        self.authenticate("portal_a", "portal_a_pw")
        response = self.url_open(
            f"/my/collections/{self.case.id}/promise",
            data={"promised_date": "2026-12-05", "amount": "700", "csrf_token": http.Request.csrf_token(self)},
        )
        self.assertEqual(response.status_code, 200)
        promise = self.case.promise_ids
        self.assertEqual((promise.amount, str(promise.promised_date), promise.status), (700.0, "2026-12-05", "pending"))
        self.assertTrue(self.case.message_ids.filtered(lambda m: "customer portal" in (m.body or "")))
        too_far = self.url_open(
            f"/my/collections/{self.case.id}/promise",
            data={"promised_date": "2027-06-01", "amount": "10", "csrf_token": http.Request.csrf_token(self)},
        )
        self.assertIn("error=promise_date", too_far.url)
        self.assertEqual(len(self.case.promise_ids), 1)

    @freeze_time("2026-11-24 10:00:00")
    def test_the_promise_form_shows_the_amount_with_its_currency_and_the_case_logs_it_once(self):
        self.authenticate("portal_a", "portal_a_pw")
        page = lxml.html.fromstring(self.url_open("/my/collections").text)
        (amount,) = page.xpath("//input[@name='amount']")
        self.assertEqual(amount.get("value"), "700.00")
        currency = self.case.currency_id
        self.assertIn(currency.symbol, [text(node) for node in amount.getparent().xpath("span")])
        self.url_open(
            f"/my/collections/{self.case.id}/promise",
            data={"promised_date": "2026-12-05", "amount": "700", "csrf_token": http.Request.csrf_token(self)},
        )
        said = self.case.message_ids.filtered(lambda m: "Promise to pay" in (m.body or ""))
        self.assertEqual(len(said), 1)  # the portal's message, not a second one from the promise itself
        self.assertIn("made in the customer portal", said.body)

    def test_a_dispute_made_in_the_portal_blocks_the_invoice_and_tells_the_collector(self):
        self.authenticate("portal_a", "portal_a_pw")
        self.url_open(
            f"/my/collections/{self.case.id}/dispute",
            data={
                "move_id": str(self.move.id),
                "reason": "Goods arrived damaged",
                "csrf_token": http.Request.csrf_token(self),
            },
        )
        self.assertEqual(self.move.payment_state, "blocked")
        self.assertTrue(self.case.activity_ids.filtered(lambda a: "damaged" in (a.note or "")))
        self.assertTrue(self.move.message_ids.filtered(lambda m: "Goods arrived damaged" in (m.body or "")))

    @freeze_time("2026-11-24 10:00:00")
    def test_credits_are_listed_apart_and_the_promise_asks_the_net_amount(self):
        refund = self.init_invoice(
            "out_refund", partner=self.partner_a, invoice_date="2026-11-10", amounts=[200.0], taxes=[], post=True
        )
        self.authenticate("portal_a", "portal_a_pw")
        page = self.url_open("/my/collections").text
        self.assertIn(refund.name, page)
        self.assertNotIn(refund.get_portal_url(), page)  # nothing to pay on a credit note
        self.assertNotIn(f'<option value="{refund.id}"', page)  # nor to dispute
        (amount_input,) = re.findall(rf'<input[^>]*id="amount-{self.case.id}"[^>]*>', page)
        self.assertIn('value="500.00"', amount_input)
        self.assertIn("Credits in your favour", page)
        self.assertIn("Amount due: $ 500.00", text(lxml.html.fromstring(page)))
        response = self.url_open(
            f"/my/collections/{self.case.id}/promise",
            data={"promised_date": "2026-12-05", "amount": "500.00", "csrf_token": http.Request.csrf_token(self)},
        )
        self.assertNotIn("error=", response.url)
        self.assertEqual(self.case.promise_ids.amount, 500.0)
        too_much = self.url_open(
            f"/my/collections/{self.case.id}/promise",
            data={"promised_date": "2026-12-05", "amount": "700.00", "csrf_token": http.Request.csrf_token(self)},
        )
        self.assertIn("error=promise_amount", too_much.url)
        disputed = self.init_invoice(
            "out_invoice", partner=self.partner_a, invoice_date="2026-10-15", amounts=[300.0], taxes=[], post=True
        )
        disputed.action_collection_toggle_dispute()
        (row,) = sections(self.url_open("/my/collections").text)["Under review (not included in the amount due)"]
        self.assertEqual(row[0], disputed.name)
        self.assertEqual(row[3:], ["Under review", ""])  # no Pay button for what is disputed

    @freeze_time("2026-11-24 10:00:00")
    def test_a_spanish_customer_reads_the_page_in_spanish(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.portal_a.lang = "es_ES"
        self.init_invoice(
            "out_refund", partner=self.partner_a, invoice_date="2026-11-10", amounts=[200.0], taxes=[], post=True
        )
        self.authenticate("portal_a", "portal_a_pw")
        page = self.url_open("/my/collections").text
        self.assertIn("Créditos a su favor", page)
        self.assertIn("Importe pendiente", page)
        self.assertIn("500,00", page)  # 700 overdue less the 200 credit note, in the Spanish number format
        self.assertNotIn("Credits in your favour", page)
