"""Paying what is due in one online payment, and the signed links that open the page without logging in.

The payments go through Odoo's ``payment`` module as Odoo's own tests drive it: the demo provider
(``payment_demo``) when it is installed, else the dummy provider of ``payment.tests.common``; the
transaction is confirmed as the provider would, then post-processed by Odoo's status poll.
"""

import html
import importlib.util
import re
import shutil
import urllib.parse
from datetime import date

import lxml.html
from freezegun import freeze_time

from odoo import Command
from odoo.tests import JsonRpcException, tagged
from odoo.tools import mute_logger

from odoo.addons.account_payment.tests.common import AccountPaymentCommon
from odoo.addons.payment.tests.http_common import PaymentHttpCommon

from .common import text
from .test_tours import CHROME_NAMES

NOW = "2026-11-24 10:00:00"


@tagged("post_install", "-at_install")
class TestPortalPay(AccountPaymentCommon, PaymentHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.env["ir.module.module"]._get("payment_demo").state == "installed":
            cls.provider = cls._prepare_provider("demo")
            cls.provider.journal_id = cls.company_data["default_journal_bank"]
            method_line = cls.provider.journal_id.inbound_payment_method_line_ids.filtered(
                lambda line: line.payment_provider_id == cls.provider
            )
            method_line.payment_account_id = cls.inbound_payment_method_line.payment_account_id
            cls.payment_method_id = cls.provider.payment_method_ids[:1].id
            cls.dummy_provider.state = "disabled"
        cls.env.user.groups_id += cls.env.ref("account_collections.group_collection_manager")
        cls.collector = cls.env.user
        cls.env.company.collection_default_user_id = cls.collector
        cls.env.company.collection_tz = "UTC"
        cls.usd = cls.env.company.currency_id
        cls.partner_a.write({"email": "ap@partner-a.example.com", "mobile": "+34600111222", "lang": "en_US"})
        portal = cls.env.ref("base.group_portal")
        cls.portal_a, cls.portal_b = cls.env["res.users"].create(
            [
                {
                    "name": "AP of A",
                    "login": "pay_portal_a",
                    "password": "pay_portal_a_pw",
                    "partner_id": cls.partner_a.id,
                    "groups_id": [Command.set(portal.ids)],
                },
                {
                    "name": "AP of B",
                    "login": "pay_portal_b",
                    "password": "pay_portal_b_pw",
                    "partner_id": cls.partner_b.id,
                    "groups_id": [Command.set(portal.ids)],
                },
            ]
        )
        term = cls.env["account.payment.term"].create(
            {
                "name": "50% in 30 days, 50% in 90 days",
                "line_ids": [
                    Command.create(
                        {"value": "percent", "value_amount": 50.0, "delay_type": "days_after", "nb_days": 30}
                    ),
                    Command.create(
                        {"value": "percent", "value_amount": 50.0, "delay_type": "days_after", "nb_days": 90}
                    ),
                ],
            }
        )
        cls.oldest = cls._posted(300.0, "2026-09-01")
        cls.split = cls._posted(1200.0, "2026-09-25", term=term)  # 600 due 2026-10-25, 600 due 2026-12-24
        cls.newest = cls._posted(500.0, "2026-10-15")
        cls.of_b = cls._posted(900.0, "2026-10-01", partner=cls.partner_b)
        with freeze_time(NOW):
            cls.env["collection.run"]._run_company(cls.env.company)
        Case = cls.env["collection.case"]
        cls.case_a = Case.search([("partner_id", "=", cls.partner_a.id)])
        cls.case_b = Case.search([("partner_id", "=", cls.partner_b.id)])

    @classmethod
    def _posted(cls, amount, invoice_date, partner=None, term=None, move_type="out_invoice"):
        move = cls.init_invoice(
            move_type, partner=partner or cls.partner_a, invoice_date=invoice_date, amounts=[amount], taxes=[]
        )
        if term:
            move.invoice_payment_term_id = term
        move.action_post()
        return move

    # -- helpers -------------------------------------------------------------------

    @staticmethod
    def receivable(move):
        return move.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable").sorted(
            "date_maturity"
        )

    def link(self, case, expiry=None):
        return f"/my/collections/{case.id}?access_token={case._collection_link_token(expiry)}"

    def pay_context(self, url):
        """Open a pay page; return the payment form's context (Odoo's own helper reads it)."""
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200, response.text[:500])
        return self._get_payment_context(response), response

    def create_transaction(self, context, amount=None):
        """What Odoo's payment form posts to the transaction route when the customer clicks Pay."""
        values = {
            "provider_id": self.provider.id,
            "payment_method_id": self.payment_method_id,
            "token_id": None,
            "amount": context["amount"] if amount is None else amount,
            "flow": "direct",
            "tokenization_requested": False,
            "landing_route": context["landing_route"],
            "access_token": context["access_token"],
            "payment_reference": None,
        }
        with mute_logger("odoo.addons.payment.models.payment_transaction"):
            processing = self._get_processing_values(tx_route=context["transaction_route"], **values)
        return self._get_tx(processing["reference"])

    def confirm(self, tx):
        """The provider confirms the payment; Odoo's status poll post-processes it (payment, reconciliation)."""
        if self.provider.code == "demo":
            tx._handle_notification_data(
                "demo", {"reference": tx.reference, "payment_details": "1234", "simulated_state": "done"}
            )
        else:
            tx._set_done()
        self.assertEqual(tx.state, "done")
        result = self.make_jsonrpc_request(self._build_url("/payment/status/poll"), {})
        self.assertEqual(result["state"], "done")
        self.assertTrue(tx.is_post_processed)

    # -- what the page offers -------------------------------------------------------

    @freeze_time(NOW)
    def test_pay_all_overdue_settles_exactly_the_overdue_lines_with_the_credits_and_closes_the_case(self):
        refund = self._posted(200.0, "2026-11-10", move_type="out_refund")
        self.authenticate(None, None)  # a customer without a login, from a reminder's link
        page = self.url_open(self.link(self.case_a))
        self.assertEqual(page.status_code, 200)
        document = self.case_a._collection_statement()
        self.assertEqual(document.amount_due, 1200.0)  # 300 + 600 + 500 overdue, less the 200 credit note
        html = lxml.html.fromstring(page.text)
        (pay_all,) = html.xpath("//a[hasclass('o_collection_pay_all')]")
        self.assertEqual(text(pay_all), "Pay all overdue: $ 1,200.00")  # the amount due the page shows
        self.assertIn(f"Amount due: {document.amount_due_text}".replace("\xa0", " "), text(html))
        context, response = self.pay_context(pay_all.get("href"))
        self.assertEqual(context["amount"], 1200.0)
        self.assertEqual(context["currency_id"], self.usd.id)
        self.assertIn(refund.name, response.text)  # the credit applied is shown
        tx = self.create_transaction(context)
        overdue_lines = self.receivable(self.oldest) | self.receivable(self.split)[0] | self.receivable(self.newest)
        self.assertEqual(tx.collection_line_ids, overdue_lines)
        self.assertEqual(tx.collection_credit_line_ids, self.receivable(refund))
        self.assertEqual((tx.amount, tx.currency_id, tx.partner_id), (1200.0, self.usd, self.partner_a))
        self.confirm(tx)
        self.assertEqual(tx.payment_id.state, "in_process" if tx.payment_id.outstanding_account_id else "paid")
        self.assertTrue(all(line.reconciled for line in overdue_lines | self.receivable(refund)))
        upcoming = self.receivable(self.split)[1]
        self.assertEqual((upcoming.reconciled, upcoming.amount_residual), (False, 600.0))  # not chosen: untouched
        self.assertEqual(self.oldest.payment_state, self.newest.payment_state)
        self.assertIn(self.oldest.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.split.payment_state, "partial")
        case = self.case_a
        self.assertEqual((case.amount_due, case.overdue_amount, case.upcoming_amount), (0.0, 0.0, 600.0))
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_closed"))
        told = case.message_ids.filtered(lambda m: "paid $" in (m.body or "") and "online" in (m.body or ""))
        self.assertEqual(len(told), 1)
        self.assertIn(self.collector.partner_id, told.partner_ids)  # the collector is notified
        self.assertFalse(any(self.receivable(self.of_b).mapped("reconciled")))  # nobody else's items

    @freeze_time(NOW)
    def test_chosen_items_are_paid_and_no_other(self):
        self.authenticate("pay_portal_a", "pay_portal_a_pw")
        chosen = self.receivable(self.newest) | self.receivable(self.split)[1]  # an overdue item, an instalment
        page = lxml.html.fromstring(self.url_open("/my/collections").text)
        boxes = {box.get("value") for box in page.xpath(f"//input[@name='line'][@form='pay-{self.case_a.id}']")}
        self.assertEqual(
            boxes, {str(line.id) for line in self.receivable(self.oldest | self.split | self.newest)}
        )  # every open item of the customer can be ticked, and only theirs
        query = "&".join(f"line={line.id}" for line in chosen)
        context, response = self.pay_context(f"/my/collections/{self.case_a.id}/pay?kind=lines&{query}")
        self.assertEqual(context["amount"], 1100.0)
        self.assertIn(self.newest.name, response.text)
        self.assertNotIn(self.oldest.name, response.text)
        tx = self.create_transaction(context)
        self.assertEqual(tx.collection_line_ids, chosen)
        self.assertEqual(tx.partner_id, self.portal_a.partner_id)
        self.confirm(tx)
        self.assertTrue(all(chosen.mapped("reconciled")))
        self.assertEqual(self.receivable(self.oldest).amount_residual, 300.0)
        self.assertEqual(self.receivable(self.split)[0].amount_residual, 600.0)
        self.assertEqual(self.case_a.overdue_amount, 900.0)  # 300 + the first instalment's 600, at once
        self.assertNotEqual(self.case_a.stage_id, self.env.ref("account_collections.stage_closed"))

    @freeze_time(NOW)
    def test_the_next_plan_instalment_goes_to_the_oldest_item_first(self):
        covered = self.receivable(self.oldest) | self.receivable(self.newest)
        plan = self.env["collection.plan"].create(
            {
                "case_id": self.case_a.id,
                "total": 800.0,
                "down_payment": 200.0,
                "installments": 3,
                "frequency": "monthly",
                "first_due": "2026-12-10",
                "move_line_ids": [Command.set(covered.ids)],
            }
        )
        self.authenticate(None, None)
        page = lxml.html.fromstring(self.url_open(self.link(self.case_a)).text)
        (button,) = page.xpath("//a[hasclass('o_collection_pay_installment')]")
        self.assertIn("$ 200.00", text(button))
        context, _response = self.pay_context(button.get("href"))
        self.assertEqual(context["amount"], 200.0)
        tx = self.create_transaction(context)
        self.assertEqual(tx.collection_line_ids, covered)
        self.confirm(tx)
        oldest, newest = self.receivable(self.oldest), self.receivable(self.newest)
        self.assertEqual((oldest.amount_residual, newest.amount_residual), (100.0, 500.0))  # partial: oldest first
        self.assertEqual(plan.paid_amount, 200.0)  # the plan counts it at once
        self.assertEqual(plan.installment_ids.sorted("sequence")[0].status, "paid")

    @freeze_time(NOW)
    def test_each_currency_is_paid_apart(self):
        in_euros = self.init_invoice(
            "out_invoice",
            partner=self.partner_a,
            invoice_date="2026-10-01",
            amounts=[250.0],
            taxes=[],
            currency=self.currency_euro,
            post=True,
        )
        self.authenticate("pay_portal_a", "pay_portal_a_pw")
        page = lxml.html.fromstring(self.url_open("/my/collections").text)
        offers = {
            a.get("href").split("currency=")[1]: text(a) for a in page.xpath("//a[hasclass('o_collection_pay_all')]")
        }
        self.assertEqual(set(offers), {"EUR", "USD"})
        self.assertIn("250.00", offers["EUR"])
        self.assertIn("1,400.00", offers["USD"])
        mixed = self.url_open(
            f"/my/collections/{self.case_a.id}/pay?kind=lines&line={self.receivable(in_euros).id}"
            f"&line={self.receivable(self.oldest).id}"
        )
        self.assertIn("error=pay_currency", mixed.url)
        context, _response = self.pay_context(f"/my/collections/{self.case_a.id}/pay?kind=overdue&currency=EUR")
        self.assertEqual((context["amount"], context["currency_id"]), (250.0, self.currency_euro.id))
        tx = self.create_transaction(context)
        self.confirm(tx)
        self.assertEqual(tx.payment_id.currency_id, self.currency_euro)
        self.assertTrue(self.receivable(in_euros).reconciled)
        self.assertFalse(any(self.receivable(self.oldest | self.newest).mapped("reconciled")))

    # -- what the server refuses ------------------------------------------------------

    @freeze_time(NOW)
    def test_the_transaction_route_checks_the_amount_and_the_lines_again(self):
        self.authenticate("pay_portal_a", "pay_portal_a_pw")
        context, _response = self.pay_context(f"/my/collections/{self.case_a.id}/pay?kind=overdue&currency=USD")
        self.assertEqual(context["amount"], 1400.0)
        with self.assertRaises(JsonRpcException, msg="odoo.exceptions.ValidationError"), mute_logger("odoo.http"):
            self.create_transaction(context, amount=1.0)  # an amount tampered in the browser
        # the customer pays one invoice elsewhere meanwhile: the page's amount is stale
        payment = self.init_payment(300.0, post=True, date="2026-11-24", partner=self.partner_a)
        (self.receivable(self.oldest) | payment.move_id.line_ids).filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).reconcile()
        with self.assertRaises(JsonRpcException, msg="odoo.exceptions.ValidationError"), mute_logger("odoo.http"):
            self.create_transaction(context)
        self.assertFalse(self.env["payment.transaction"].search([("collection_case_id", "=", self.case_a.id)]))
        # a disputed invoice cannot be chosen; an item paid already or another customer's is unknown here
        self.newest.action_collection_toggle_dispute()
        disputed = self.url_open(
            f"/my/collections/{self.case_a.id}/pay?kind=lines&line={self.receivable(self.newest).id}"
        )
        self.assertIn("error=pay_lines", disputed.url)
        for line in (self.receivable(self.oldest), self.receivable(self.of_b)[0]):
            response = self.url_open(f"/my/collections/{self.case_a.id}/pay?kind=lines&line={line.id}")
            self.assertEqual(response.status_code, 404)
        route = f"/my/collections/{self.case_a.id}/transaction/lines.USD.{self.receivable(self.of_b)[0].id}"
        with self.assertRaises(JsonRpcException) as raised, mute_logger("odoo.http"):
            self.make_jsonrpc_request(self._build_url(route), {"amount": 900.0})
        self.assertEqual(raised.exception.code, 404)

    # -- who may open what ----------------------------------------------------------------

    @freeze_time(NOW)
    def test_a_signed_link_opens_its_own_case_only(self):
        self.authenticate(None, None)
        own = self.url_open(self.link(self.case_a))
        self.assertEqual(own.status_code, 200)
        self.assertIn(self.oldest.name, own.text)
        self.assertNotIn(self.of_b.name, own.text)
        token = self.case_a._collection_link_token()
        other = self.url_open(f"/my/collections/{self.case_b.id}?access_token={token}")  # another case's id
        self.assertEqual(other.status_code, 404)
        self.assertNotIn(self.of_b.name, other.text)
        tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
        for bad in (tampered, token.replace("2027", "2099", 1), "nonsense", f"{self.case_b._collection_link_token()}"):
            refused = self.url_open(f"/my/collections/{self.case_a.id}?access_token={bad}")
            self.assertEqual(refused.status_code, 404, bad)
            self.assertIn("This link is not valid", refused.text)
            self.assertNotIn(self.oldest.name, refused.text)
        expired = self.url_open(self.link(self.case_a, expiry=date(2026, 11, 23)))
        self.assertEqual(expired.status_code, 403)
        self.assertIn("This link has expired", expired.text)
        self.assertNotIn(self.oldest.name, expired.text)
        pay = self.url_open(f"/my/collections/{self.case_b.id}/pay?kind=overdue&currency=USD&access_token={token}")
        self.assertEqual(pay.status_code, 404)
        anonymous = self.url_open(f"/my/collections/{self.case_a.id}")
        self.assertIn("/web/login", anonymous.url)
        self.assertNotIn(self.oldest.name, anonymous.text)
        with self.assertRaises(JsonRpcException) as raised, mute_logger("odoo.http"):
            self.make_jsonrpc_request(
                self._build_url(f"/my/collections/{self.case_b.id}/transaction/overdue.USD"),
                {"amount": 900.0, "access_token": token},
            )
        self.assertEqual(raised.exception.code, 404)

    @freeze_time(NOW)
    def test_the_link_lasts_the_days_set_in_settings(self):
        self.env.company.collection_link_days = 10
        token = self.case_a._collection_link_token()
        self.assertTrue(token.startswith("20261204."))
        self.assertEqual(self.case_a._collection_link_state(token), "valid")
        with freeze_time("2026-12-05 10:00:00"):
            self.assertEqual(self.case_a._collection_link_state(token), "expired")
        self.case_a.access_token = False  # a new portal token revokes every link given so far
        self.assertEqual(self.case_a._collection_link_state(token), "invalid")

    @freeze_time(NOW)
    def test_a_logged_in_customer_cannot_open_another_customers_case(self):
        self.authenticate("pay_portal_b", "pay_portal_b_pw")
        for url in (
            f"/my/collections/{self.case_a.id}",
            f"/my/collections/{self.case_a.id}/pay?kind=overdue&currency=USD",
            f"/my/collections/{self.case_a.id}/pay?kind=lines&line={self.receivable(self.oldest).id}",
        ):
            self.assertEqual(self.url_open(url).status_code, 404, url)
        with self.assertRaises(JsonRpcException) as raised, mute_logger("odoo.http"):
            self.make_jsonrpc_request(
                self._build_url(f"/my/collections/{self.case_a.id}/transaction/overdue.USD"), {"amount": 1400.0}
            )
        self.assertEqual(raised.exception.code, 404)
        own = self.url_open(f"/my/collections/{self.case_b.id}")
        self.assertEqual(own.status_code, 200)
        self.assertIn(self.of_b.name, own.text)
        self.assertNotIn(self.oldest.name, own.text)

    # -- the link in every reminder and letter ------------------------------------------------

    def follow(self, link):
        """Open a link from a message as its reader would: not logged in; the page must show their items."""
        self.authenticate(None, None)
        base = self.case_a.get_base_url()
        self.assertTrue(link.startswith(f"{base}/my/collections/{self.case_a.id}?access_token="), link)
        page = self.url_open(link[len(base) :])
        self.assertEqual(page.status_code, 200)
        self.assertIn(self.oldest.name, page.text)
        self.assertNotIn(self.of_b.name, page.text)
        return page

    @freeze_time(NOW)
    def test_every_reminder_and_the_letter_carry_a_working_link(self):
        case = self.case_a
        (email,) = case.message_ids.filtered(lambda m: m.message_type == "comment" and "Dear" in (m.body or ""))
        (button,) = lxml.html.fromstring(email.body).xpath("//p[hasclass('o_collection_portal_link')]/a")
        self.assertEqual(text(button), "See your statement and pay online")
        self.follow(button.get("href"))

        report = self.env.ref("account_collections.action_report_collection_letter")
        letter = lxml.html.fromstring(report._render_qweb_html(report.id, case.ids)[0].decode())
        (block,) = letter.xpath("//div[hasclass('o_collection_portal_link')]")
        printed = text(block.xpath(".//p")[1])
        (qr,) = block.xpath(".//img")
        self.assertTrue(qr.get("src").startswith("data:image/png;base64,"))  # the same link as a QR code
        self.follow(printed)

        email_action = case.action_ids.filtered(lambda a: a.channel == "email")[:1]
        sms_action = email_action.copy({"key": "sms-link-test", "channel": "sms"})
        sms_action._send_sms(self.env["collection.statement"]._for_actions(sms_action)[sms_action.id])
        (sms,) = self.env["sms.sms"].sudo().search([("body", "like", "/my/collections/")])
        self.assertIn("$ 1,400.00 of your account", sms.body)
        self.follow(sms.body.split()[-1])

        whatsapp = email_action.copy({"key": "whatsapp-link-test", "channel": "whatsapp"})
        document = self.env["collection.statement"]._for_actions(whatsapp)[whatsapp.id]
        note = whatsapp._task_note(document)
        self.assertIn("https://wa.me/34600111222?text=", note)
        self.assertIn(document.portal_link, note)
        # the message the collector sends: the same amount as the SMS, i.e. the customer's open receivable
        (encoded,) = re.findall(r"https://wa\.me/34600111222\?text=([^\"'<\s]+)", note)
        message = urllib.parse.unquote_plus(html.unescape(encoded))
        self.assertIn("amount due $ 1,400.00.", message)
        self.assertTrue(message.endswith(document.portal_link), message)
        overdue = self.env["account.move.line"].search(
            [
                ("partner_id", "=", case.partner_id.id),
                ("account_type", "=", "asset_receivable"),
                ("date_maturity", "<", date(2026, 11, 24)),
            ]
        )
        self.assertAlmostEqual(sum(overdue.mapped("amount_residual")), 1400.0)  # the ledger's overdue amount
        self.follow(document.portal_link)
        self.follow(case.get_base_url() + case.get_portal_url())  # Odoo's portal URL of the case is the signed link

    # -- in a real browser ---------------------------------------------------------------------

    @freeze_time(NOW)
    def test_a_customer_pays_everything_overdue_from_a_reminder_link_in_the_browser(self):
        if not any(shutil.which(name) for name in CHROME_NAMES) or importlib.util.find_spec("websocket") is None:
            self.skipTest("Chromium and websocket-client are needed for the browser tour (see test_tours.py)")
        if self.provider.code != "demo":
            self.skipTest("payment_demo is not installed: the tour pays with Odoo's demo provider (-i payment_demo)")
        self.start_tour(self.link(self.case_a), "account_collections_portal_pay_all", login=None, timeout=120)
        lines = self.receivable(self.oldest) | self.receivable(self.split)[0] | self.receivable(self.newest)
        self.assertTrue(all(lines.mapped("reconciled")))
        self.assertEqual(self.case_a.amount_due, 0.0)
        self.assertEqual(self.case_a.stage_id, self.env.ref("account_collections.stage_closed"))
