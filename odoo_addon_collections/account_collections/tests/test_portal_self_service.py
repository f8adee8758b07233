from datetime import datetime

import lxml.html
from freezegun import freeze_time

from odoo import http
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from .common import text

NOW = "2026-11-24 10:00:00"  # a Tuesday


class SelfServiceCommon(AccountTestInvoicingHttpCommon):
    """Two portal customers (A and B), A with an overdue invoice of 1,200 and a case opened by a run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id += cls.env.ref("account_collections.group_collection_manager")
        cls.env.company.collection_default_user_id = cls.env.user
        cls.env.company.collection_tz = "UTC"
        cls.partner_a.write({"email": "ap@partner-a.example.com", "mobile": "+34600111222", "lang": "en_US"})
        portal = cls.env.ref("base.group_portal")
        cls.portal_a, cls.portal_b = cls.env["res.users"].create(
            [
                {
                    "name": f"AP of {partner.name}",
                    "login": login,
                    "password": f"{login}_pw",
                    "partner_id": partner.id,
                    "groups_id": [(6, 0, portal.ids)],
                }
                for login, partner in (("portal_a", cls.partner_a), ("portal_b", cls.partner_b))
            ]
        )
        cls.move = cls.init_invoice(
            "out_invoice", partner=cls.partner_a, invoice_date=cls.invoice_date, amounts=[1200.0], taxes=[], post=True
        )
        with freeze_time(NOW):
            cls.env["collection.run"]._run_company(cls.env.company, send=False)
        cls.case = cls.env["collection.case"].search([("partner_id", "=", cls.partner_a.id)])

    invoice_date = "2026-10-20"

    def post(self, url, **data):
        return self.url_open(url, data={**data, "csrf_token": http.Request.csrf_token(self)})

    def run_collections(self, when, send=True):
        with freeze_time(when):
            self.env["collection.run"]._run_company(self.env.company, send=send)

    def pay(self, amount, date):
        payment = self.init_payment(amount, post=True, date=date, partner=self.partner_a)
        (self.move.line_ids | payment.move_id.line_ids).filtered(
            lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled
        ).reconcile()


@tagged("post_install", "-at_install")
class TestPortalPaymentPlan(SelfServiceCommon):
    """A customer proposes a payment plan: inside the rule of their risk category it is accepted at once,
    beyond it the collector approves or refuses it; instalments are reminded; a broken plan resumes dunning."""

    def setUp(self):
        super().setUp()
        # the rule of the "medium" category: 6 instalments at most, 10 % down payment at least, 5 grace days
        self.case.risk_category_id = self.env.ref("account_collections.risk_medium")

    @freeze_time(NOW)
    def test_a_plan_inside_the_rule_is_accepted_and_the_down_payment_can_be_paid_at_once(self):
        self.authenticate("portal_a", "portal_a_pw")
        page = self.url_open(f"/my/collections/{self.case.id}/plan")
        self.assertEqual(page.status_code, 200)
        self.assertIn("up to 6 instalments", text(lxml.html.fromstring(page.text)))
        response = self.post(
            f"/my/collections/{self.case.id}/plan/propose", installments="3", frequency="monthly", down_payment="240"
        )
        self.assertIn("notice=accepted", response.url)
        plan = self.case.plan_ids
        self.assertEqual((plan.approval_state, plan.source, plan.status), ("accepted", "portal", "good_standing"))
        self.assertEqual(plan.total, 1200.0)  # the amount due of the case's statement
        self.assertEqual(plan.installment_ids.mapped("amount"), [240.0, 320.0, 320.0, 320.0])
        self.assertEqual(
            [str(d) for d in plan.installment_ids.mapped("due_date")],
            ["2026-11-24", "2026-12-24", "2027-01-24", "2027-02-24"],
        )
        self.assertEqual(plan.move_line_ids, self.move.line_ids.filtered("date_maturity").filtered("debit"))
        self.assertEqual(plan.grace_days, 5)
        self.assertIn("Your payment plan is accepted", response.text)
        (pay,) = lxml.html.fromstring(response.text).xpath("//a[contains(., 'Pay the down payment')]")
        self.assertEqual(pay.get("href"), f"/my/collections/{self.case.id}/pay?kind=plan&currency=USD")
        self.assertIn("$ 240.00", text(pay))
        paying = self.url_open(pay.get("href"))  # the payment of the next instalment: the down payment
        self.assertEqual(paying.status_code, 200)
        self.assertIn("$ 240.00", text(lxml.html.fromstring(paying.text)))
        # the case's statement now shows the invoice as arranged: nothing asked while the plan is kept
        self.assertEqual(self.case._collection_statement().amount_due, 0.0)
        # a second proposal while this one stands is refused with a message
        again = self.post(
            f"/my/collections/{self.case.id}/plan/propose", installments="2", frequency="monthly", down_payment="240"
        )
        self.assertIn("You already have a payment plan", again.text)
        self.assertEqual(len(self.case.plan_ids), 1)

    @freeze_time(NOW)
    def test_a_plan_beyond_the_rule_waits_for_the_collector_who_approves_it(self):
        self.authenticate("portal_a", "portal_a_pw")
        response = self.post(
            f"/my/collections/{self.case.id}/plan/propose", installments="12", frequency="weekly", down_payment="0"
        )
        self.assertIn("notice=proposed", response.url)
        plan = self.case.plan_ids
        self.assertEqual((plan.approval_state, plan.status), ("proposed", False))
        self.assertIn("installments: 12 exceeds the maximum of 6", plan.approval_reasons)
        self.assertIn("down_payment: 0 is below the minimum of 10", plan.approval_reasons)
        activity = plan.activity_id
        self.assertEqual((activity.user_id, activity.res_id), (self.case.user_id, self.case.id))
        self.assertIn("exceeds the maximum", activity.note)
        # not accepted yet: the invoice is still asked for, and a run keeps dunning it
        self.assertEqual(self.case._collection_statement().amount_due, 1200.0)
        self.assertIn("Awaiting our approval", self.url_open(f"/my/collections/{self.case.id}/plan").text)
        self.run_collections("2026-11-25 10:00:00", send=False)
        self.assertEqual(plan.status, False)
        self.assertEqual(self.case.amount_due, 1200.0)
        pending = self.case.action_ids.filtered(lambda a: a.state in ("scheduled", "to_do"))
        self.assertTrue(pending)
        plan.action_approve()
        self.assertEqual((plan.approval_state, plan.status), ("accepted", "good_standing"))
        self.assertFalse(activity.exists())  # the task is done
        self.assertEqual(set(pending.mapped("cancel_reason")), {"arranged"})  # the reminders stop
        page = text(lxml.html.fromstring(self.url_open(f"/my/collections/{self.case.id}/plan").text))
        self.assertIn("Accepted", page)
        self.assertNotIn("Awaiting our approval", page)

    @freeze_time(NOW)
    def test_a_refused_proposal_is_shown_refused_and_dunning_goes_on(self):
        self.authenticate("portal_a", "portal_a_pw")
        self.post(
            f"/my/collections/{self.case.id}/plan/propose", installments="2", frequency="monthly", down_payment="0"
        )
        plan = self.case.plan_ids
        self.assertEqual(plan.approval_state, "proposed")
        plan.action_refuse()
        self.assertEqual((plan.approval_state, plan.cancelled), ("refused", True))
        page = self.url_open(f"/my/collections/{self.case.id}/plan").text
        self.assertIn("Not accepted", page)
        self.assertIn("Send my proposal", page)  # a new proposal can be made
        self.assertEqual(self.case._collection_statement().amount_due, 1200.0)

    @freeze_time(NOW)
    def test_other_customers_ids_give_404_and_bad_input_a_message(self):
        self.authenticate("portal_b", "portal_b_pw")
        self.assertEqual(self.url_open(f"/my/collections/{self.case.id}/plan").status_code, 404)
        refused = self.post(
            f"/my/collections/{self.case.id}/plan/propose", installments="3", frequency="monthly", down_payment="240"
        )
        self.assertEqual(refused.status_code, 404)
        self.assertFalse(self.case.plan_ids)
        self.authenticate("portal_a", "portal_a_pw")
        for data, message in (
            ({"installments": "three", "frequency": "monthly"}, "as numbers"),
            ({"installments": "3", "frequency": "daily"}, "Choose how often you will pay"),
            ({"installments": "0", "frequency": "monthly"}, "Choose between 1 and 120 instalments"),
            ({"installments": "3", "frequency": "monthly", "down_payment": "1200"}, "less than the amount due"),
        ):
            response = self.post(f"/my/collections/{self.case.id}/plan/propose", **data)
            self.assertEqual(response.status_code, 200)
            self.assertIn(message, response.text)
        self.assertFalse(self.case.plan_ids)

    def test_instalments_are_reminded_and_a_broken_plan_resumes_dunning(self):
        with freeze_time(NOW):
            plan = self.env["collection.plan"]._propose_from_portal(self.case, 3, "monthly", 240.0)
        self.assertEqual(plan.approval_state, "accepted")
        self.pay(240.0, "2026-11-25")
        self.run_collections("2026-11-25 10:00:00")
        self.assertEqual((plan.status, plan.paid_amount), ("good_standing", 240.0))
        self.assertFalse(self.case.action_ids.filtered(lambda a: a.state == "scheduled"))
        # three days before the first instalment: its courtesy reminder, with the instalment's figures
        self.run_collections("2026-12-21 10:00:00")
        reminder = self.case.action_ids.filtered(lambda a: a.level_key == "plan_pre_due")
        self.assertEqual((reminder.state, reminder.channel), ("done", "email"))
        self.assertEqual(reminder.plan_installment_id.sequence, 1)
        email = self.case.message_ids.filtered(lambda m: "payment plan instalment is due soon" in (m.subject or ""))
        body = text(lxml.html.fromstring(email.body))
        self.assertIn("instalment 1 of 3", body)
        self.assertIn("$ 320.00", body)
        self.assertIn("12/24/2026", body)
        self.assertIn(f"/my/collections/{self.case.id}/preferences?access_token=", email.body)  # the way to opt out
        self.run_collections("2026-12-22 10:00:00")  # recorded once, however many runs
        self.assertEqual(len(self.case.action_ids.filtered(lambda a: a.level_key == "plan_pre_due")), 1)
        # late, inside the 5 grace days: a reminder that it is overdue
        self.run_collections("2026-12-27 10:00:00")
        self.assertEqual(plan.status, "late")
        late = self.case.action_ids.filtered(lambda a: a.level_key == "plan_overdue")
        self.assertEqual(late.state, "done")
        self.assertFalse(self.case.action_ids.filtered(lambda a: a.level_id and a.not_before > datetime(2026, 11, 26)))
        # past the grace days: broken, the invoice is dunned again by the strategy's levels
        self.run_collections("2027-01-02 10:00:00", send=False)
        self.assertEqual(plan.status, "broken")
        resumed = self.case.action_ids.filtered(lambda a: a.level_id and a.not_before > datetime(2026, 12, 31))
        self.assertTrue(resumed)
        self.assertEqual(resumed[0].amount_due, 960.0)  # what is left after the down payment

    def test_a_customer_who_refuses_emails_gets_the_instalment_reminder_by_sms(self):
        self.partner_a.collection_opt_out_email = True
        with freeze_time(NOW):
            plan = self.env["collection.plan"]._propose_from_portal(self.case, 3, "monthly", 240.0)
        self.pay(240.0, "2026-11-25")
        self.run_collections("2026-12-22 10:00:00")
        reminder = self.case.action_ids.filtered(lambda a: a.level_key == "plan_pre_due")
        self.assertEqual(
            (reminder.channel, reminder.state, reminder.plan_installment_id), ("sms", "done", plan.installment_ids[1])
        )
        (sms,) = self.env["sms.sms"].sudo().search([("number", "=", "+34600111222")])
        self.assertIn("$ 320.00", sms.body)
        self.assertIn("12/24/2026", sms.body)


@tagged("post_install", "-at_install")
class TestPortalContactPreferences(SelfServiceCommon):
    """The customer chooses channels, a preferred one and contact hours; the run respects them; each change
    is logged with its source."""

    invoice_date = "2026-11-17"  # 7 days overdue on NOW: the first reminder (email or SMS)

    @freeze_time(NOW)
    def test_preferences_saved_from_the_portal_are_logged_and_respected_by_the_run(self):
        self.case.action_ids.unlink()  # the case's first run planned by email; plan again after the change
        self.authenticate("portal_a", "portal_a_pw")
        page = self.url_open("/my/collections/preferences")
        self.assertEqual(page.status_code, 200)
        self.assertIn("No reminders by SMS", page.text)
        tuesday = self.env["collection.weekday"].search([("iso", "=", 2)])
        response = self.post(
            "/my/collections/preferences",
            opt_out_email="on",
            preferred_channel="sms",
            hour_from="10:00",
            hour_to="12:00",
            **{f"day_{tuesday.id}": "on"},
        )
        self.assertIn("notice=saved", response.url)
        partner = self.partner_a
        self.assertEqual(
            (partner.collection_opt_out_email, partner.collection_preferred_channel, partner.collection_hours),
            (True, "sms", "10:00-12:00"),
        )
        self.assertEqual(partner.collection_weekdays, "2")
        logs = partner.collection_consent_log_ids
        self.assertEqual(set(logs.mapped("source")), {"portal"})
        self.assertEqual(sorted(logs.mapped("change")), ["hours", "opt_out", "preferred", "weekdays"])
        opt_out = logs.filtered(lambda log: log.change == "opt_out")
        self.assertEqual(
            (opt_out.channel_id.key, opt_out.old_value, opt_out.new_value), ("email", "Accepted", "Opted out")
        )
        self.assertEqual(logs.filtered(lambda log: log.change == "hours").new_value, "10:00-12:00")
        self.run_collections(NOW, send=False)
        actions = self.case.action_ids
        self.assertTrue(actions)
        self.assertNotIn("email", actions.mapped("channel"))  # an opted-out channel is never used
        self.assertEqual(set(actions.mapped("channel")), {"sms"})
        for action in actions:  # inside the customer's own window: Tuesdays, 10:00-12:00
            self.assertEqual(action.not_before.isoweekday(), 2)
            self.assertTrue(10 <= action.not_before.hour < 12, action.not_before)

    @freeze_time(NOW)
    def test_bad_preferences_give_a_message_and_change_nothing(self):
        self.authenticate("portal_a", "portal_a_pw")
        for data, message in (
            ({"opt_out_email": "on", "preferred_channel": "email"}, "cannot be one you opt out of"),
            ({"hour_from": "10:00"}, "Give both contact hours"),
            ({"hour_from": "25:00", "hour_to": "26:00"}, "Give both contact hours"),
            ({"hour_from": "14:00", "hour_to": "10:00"}, "must end after they start"),
            ({"preferred_channel": "pigeon"}, "Choose one of the channels offered"),
            (
                {f"opt_out_{c}": "on" for c in self.env["collection.channel"].search([]).mapped("key")},
                "Keep at least one channel open",
            ),
        ):
            response = self.post("/my/collections/preferences", **data)
            self.assertEqual(response.status_code, 200)
            self.assertIn(message, response.text)
        self.assertFalse(self.partner_a.collection_opt_out_email)
        self.assertFalse(self.partner_a.collection_consent_log_ids)

    def test_a_change_in_the_backend_or_an_import_is_logged_with_its_source(self):
        self.partner_a.collection_opt_out_sms = True
        self.partner_a.with_context(import_file=True).write({"collection_preferred_channel": "email"})
        self.partner_a.write({"name": "Renamed"})  # not a contact preference: not logged
        logs = self.partner_a.collection_consent_log_ids.sorted("id")
        self.assertEqual(
            [(log.change, log.channel_id.key, log.source, log.user_id) for log in logs],
            [("opt_out", "sms", "backend", self.env.user), ("preferred", "email", "import", self.env.user)],
        )

    def test_every_reminder_email_offers_the_way_to_opt_out(self):
        self.run_collections(NOW)
        email = self.case.message_ids.filtered(lambda m: m.message_type == "comment" and m.subject)
        self.assertTrue(email)
        self.assertIn(f"/my/collections/{self.case.id}/preferences?access_token=", email[0].body)
        self.assertIn("your contact preferences", email[0].body)


@tagged("post_install", "-at_install")
class TestPortalStatement(SelfServiceCommon):
    """The customer reads and downloads their own statement of account, nobody else's."""

    @freeze_time(NOW)
    def test_the_statement_page_and_pdf_are_the_customers_own(self):
        self.authenticate("portal_a", "portal_a_pw")
        page = self.url_open(f"/my/collections/{self.case.id}/statement")
        self.assertEqual(page.status_code, 200)
        body = text(lxml.html.fromstring(page.text))
        self.assertIn("Balance of your account: $ 1,200.00", body)
        self.assertIn(self.move.name, body)
        document = self.url_open(f"/my/collections/{self.case.id}/statement/pdf")
        self.assertEqual(document.status_code, 200)
        self.assertIn(document.headers["Content-Type"].split(";")[0], ("application/pdf", "text/html"))
        self.authenticate("portal_b", "portal_b_pw")
        self.assertEqual(self.url_open(f"/my/collections/{self.case.id}/statement").status_code, 404)
        self.assertEqual(self.url_open(f"/my/collections/{self.case.id}/statement/pdf").status_code, 404)


@tagged("post_install", "-at_install")
class TestPortalSelfServiceInSpanish(SelfServiceCommon):
    @freeze_time(NOW)
    def test_a_spanish_customer_reads_the_new_pages_in_spanish(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.portal_a.lang = "es_ES"
        self.case.risk_category_id = self.env.ref("account_collections.risk_medium")
        self.authenticate("portal_a", "portal_a_pw")
        plan_page = text(lxml.html.fromstring(self.url_open(f"/my/collections/{self.case.id}/plan").text))
        self.assertIn("Aceptamos de inmediato hasta 6 cuotas", plan_page)
        self.assertIn("1.200,00", plan_page)
        self.assertNotIn("Propose a payment plan", plan_page)
        error = self.post(f"/my/collections/{self.case.id}/plan/propose", installments="0", frequency="monthly")
        self.assertIn("Elija entre 1 y 120 cuotas.", error.text)
        preferences = text(lxml.html.fromstring(self.url_open("/my/collections/preferences").text))
        self.assertIn("Sin recordatorios por SMS", preferences)
        statement = text(lxml.html.fromstring(self.url_open(f"/my/collections/{self.case.id}/statement").text))
        self.assertIn("Saldo de su cuenta: $ 1.200,00", statement)


@tagged("post_install", "-at_install")
class TestSelfServiceBySignedLink(SelfServiceCommon):
    """Every customer page and form opens with the case's signed link, without an account; the link opens its
    own case and customer only (another case's id, a tampered token: 404; an expired link: 403)."""

    invoice_date = "2026-11-17"  # 7 days overdue on NOW: the first reminder (email or SMS)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.move_b = cls.init_invoice(
            "out_invoice", partner=cls.partner_b, invoice_date=cls.invoice_date, amounts=[500.0], taxes=[], post=True
        )
        with freeze_time(NOW):
            cls.env["collection.run"]._run_company(cls.env.company, send=False)
        cls.case_b = cls.env["collection.case"].search([("partner_id", "=", cls.partner_b.id)])

    def setUp(self):
        super().setUp()
        self.authenticate(None, None)  # nobody logged in: a public session (its CSRF token) only
        with freeze_time(NOW):
            self.token = self.case._collection_link_token()

    GET_PAGES = ("", "/plan", "/statement", "/statement/pdf", "/preferences")

    def check_refusals(self, url_of, send):
        """``url_of(case, token)``; ``send(url)`` the response: another case, tampered, expired, none."""
        tampered = self.token[:-1] + ("0" if self.token[-1] != "0" else "1")
        other = send(url_of(self.case_b, self.token))
        self.assertEqual(other.status_code, 404)
        self.assertNotIn(self.move_b.name, other.text)
        for bad in (tampered, self.token.replace("2027", "2099", 1), "nonsense", self.case_b._collection_link_token()):
            refused = send(url_of(self.case, bad))
            self.assertEqual(refused.status_code, 404, bad)
            self.assertNotIn(self.move.name, refused.text)
        expired = send(url_of(self.case, self.case._collection_link_token(datetime(2026, 11, 23).date())))
        self.assertEqual(expired.status_code, 403)
        self.assertIn("This link has expired", expired.text)

    @freeze_time(NOW)
    def test_every_page_opens_with_the_signed_link_and_no_other_case(self):
        for suffix in self.GET_PAGES:
            with self.subTest(page=suffix or "payments due"):
                page = self.url_open(f"/my/collections/{self.case.id}{suffix}?access_token={self.token}")
                self.assertEqual(page.status_code, 200)
                self.assertNotIn("/web/login", page.url)
                if suffix != "/statement/pdf":
                    self.assertNotIn(self.move_b.name, page.text)
                self.check_refusals(
                    lambda case, token, suffix=suffix: f"/my/collections/{case.id}{suffix}?access_token={token}",
                    self.url_open,
                )
                anonymous = self.url_open(f"/my/collections/{self.case.id}{suffix}")
                self.assertIn("/web/login", anonymous.url)
        statement = self.url_open(f"/my/collections/{self.case.id}/statement?access_token={self.token}")
        self.assertIn(self.move.name, statement.text)
        # the page's links and forms carry the token, so that they work without an account
        main = lxml.html.fromstring(self.url_open(f"/my/collections/{self.case.id}?access_token={self.token}").text)
        for css in ("o_collection_plan_link", "o_collection_statement_link", "o_collection_preferences_link"):
            (link,) = main.xpath(f"//a[contains(@class, '{css}')]")
            self.assertIn(f"/my/collections/{self.case.id}/", link.get("href"))
            self.assertIn(f"access_token={self.token}", link.get("href"))
        for route in ("promise", "dispute"):
            (form,) = main.xpath(f"//form[contains(@action, '/{route}')]")
            self.assertEqual(form.xpath(".//input[@name='access_token']/@value"), [self.token])
        preferences = lxml.html.fromstring(
            self.url_open(f"/my/collections/{self.case.id}/preferences?access_token={self.token}").text
        )
        (form,) = preferences.xpath("//form[contains(@class, 'o_collection_preferences_form')]")
        self.assertEqual(form.xpath(".//input[@name='access_token']/@value"), [self.token])
        self.assertTrue(form.xpath(".//input[@name='csrf_token']/@value"))
        self.assertIn(self.partner_a.name, text(preferences))
        self.assertNotIn(self.partner_b.name, text(preferences))

    def url_of(self, route):
        return lambda case, token: f"/my/collections/{case.id}/{route}?access_token={token}"

    @freeze_time(NOW)
    def test_a_promise_is_sent_with_the_signed_link(self):
        form = {"promised_date": "2026-12-01", "amount": "100"}
        self.check_refusals(self.url_of("promise"), lambda url: self.post(url, **form))
        self.assertFalse(self.case.promise_ids | self.case_b.promise_ids)
        promised = self.post(f"/my/collections/{self.case.id}/promise", access_token=self.token, **form)
        self.assertIn("notice=promise", promised.url)
        self.assertIn(f"access_token={self.token}", promised.url)
        self.assertEqual(self.case.promise_ids.mapped("amount"), [100.0])
        note = self.case.message_ids.filtered(lambda m: "Promise to pay" in (m.body or ""))
        self.assertEqual(note.author_id, self.partner_a)  # the customer, not the public user
        # CSRF stays on: a form without the session's token is refused
        with mute_logger("odoo.http"):
            forged = self.url_open(f"/my/collections/{self.case.id}/promise", data={"access_token": self.token, **form})
        self.assertEqual(forged.status_code, 400)
        self.assertEqual(len(self.case.promise_ids), 1)

    @freeze_time(NOW)
    def test_a_dispute_is_sent_with_the_signed_link(self):
        dispute = {"move_id": str(self.move.id), "reason": "Not delivered"}
        self.check_refusals(self.url_of("dispute"), lambda url: self.post(url, **dispute))
        self.assertFalse(self.move.collection_disputed)
        # the other customer's invoice with this case's link: not disputable here
        wrong = self.post(
            f"/my/collections/{self.case.id}/dispute", access_token=self.token, move_id=str(self.move_b.id), reason="x"
        )
        self.assertIn("error=dispute_invalid", wrong.url)
        self.assertFalse(self.move_b.collection_disputed)
        disputed = self.post(f"/my/collections/{self.case.id}/dispute", access_token=self.token, **dispute)
        self.assertIn("notice=dispute", disputed.url)
        self.assertIn(f"access_token={self.token}", disputed.url)
        self.move.invalidate_recordset()
        self.assertTrue(self.move.collection_disputed)

    @freeze_time(NOW)
    def test_a_plan_is_proposed_with_the_signed_link(self):
        plan = {"installments": "3", "frequency": "monthly", "down_payment": "0"}
        self.check_refusals(self.url_of("plan/propose"), lambda url: self.post(url, **plan))
        self.assertFalse(self.case.plan_ids | self.case_b.plan_ids)
        page = lxml.html.fromstring(
            self.url_open(f"/my/collections/{self.case.id}/plan?access_token={self.token}").text
        )
        (form,) = page.xpath("//form[contains(@action, '/plan/propose')]")
        self.assertEqual(form.xpath(".//input[@name='access_token']/@value"), [self.token])
        proposed = self.post(f"/my/collections/{self.case.id}/plan/propose", access_token=self.token, **plan)
        self.assertEqual(proposed.status_code, 200)
        self.assertIn(f"access_token={self.token}", proposed.url)
        self.assertRegex(proposed.url, "notice=(accepted|proposed)")
        self.assertEqual((self.case.plan_ids.source, self.case.plan_ids.total), ("portal", 1200.0))
        # what the case's chatter logs of it is the customer's, not the public user's
        logged = self.case.message_ids.filtered(
            lambda m: "Payment plan of" in (m.body or "") or "proposes a payment plan" in (m.body or "")
        )
        self.assertTrue(logged)
        self.assertEqual(logged.author_id, self.case.partner_id)

    @freeze_time(NOW)
    def test_every_reminder_email_links_the_preferences_with_the_signed_link(self):
        self.run_collections(NOW)
        email = self.case.message_ids.filtered(lambda m: m.message_type == "comment" and m.subject)[:1]
        link = lxml.html.fromstring(email.body).xpath("//a[contains(@href, '/preferences')]/@href")
        self.assertEqual(link, [self.case._collection_link(suffix="/preferences")])
        self.assertIn(f"/my/collections/{self.case.id}/preferences?access_token={self.token}", link[0])
        page = self.url_open(link[0].removeprefix(self.case.get_base_url()))  # nobody logged in
        self.assertEqual(page.status_code, 200)
        self.assertIn("No reminders by SMS", page.text)

    @freeze_time(NOW)
    def test_an_opt_out_from_the_email_s_link_is_saved_logged_and_respected(self):
        path = self.case._collection_link(suffix="/preferences").removeprefix(self.case.get_base_url())
        self.assertEqual(self.url_open(path).status_code, 200)
        self.check_refusals(
            lambda case, token: f"/my/collections/{case.id}/preferences?access_token={token}",
            lambda url: self.post(url, opt_out_sms="on"),
        )
        self.assertFalse(self.partner_a.collection_consent_log_ids | self.partner_b.collection_consent_log_ids)
        self.assertFalse(self.partner_b.collection_opt_out_sms)
        # SMS is what the run would use now (the backend set it as the customer's preferred channel)
        self.partner_a.collection_preferred_channel = "sms"
        self.case.action_ids.unlink()
        self.run_collections(NOW, send=False)
        self.assertIn("sms", self.case.action_ids.mapped("channel"))
        saved = self.post(f"/my/collections/{self.case.id}/preferences", access_token=self.token, opt_out_sms="on")
        self.assertIn("notice=saved", saved.url)
        self.assertIn(f"access_token={self.token}", saved.url)
        self.assertIn("Your preferences are saved", saved.text)
        self.assertTrue(self.partner_a.collection_opt_out_sms)
        self.assertFalse(self.partner_b.collection_opt_out_sms)
        logs = self.partner_a.collection_consent_log_ids
        self.assertEqual(logs.filtered(lambda entry: entry.source == "backend").mapped("signed_link"), [False])
        via_link = logs.filtered(lambda entry: entry.source == "portal")
        self.assertEqual(set(via_link.mapped("signed_link")), {True})
        self.assertEqual(  # the preferred channel, not sent by the form, is cleared: a change of its own
            sorted((entry.change, entry.channel_id.key, entry.new_value) for entry in via_link),
            [("opt_out", "sms", "Opted out"), ("preferred", "sms", "")],
        )
        # the next run plans no SMS for this customer even where it was the channel of choice before
        self.case.action_ids.unlink()
        self.run_collections(NOW, send=False)
        self.assertTrue(self.case.action_ids)
        self.assertNotIn("sms", self.case.action_ids.mapped("channel"))

    @freeze_time(NOW)
    def test_a_logged_in_change_is_not_marked_as_made_by_the_signed_link(self):
        self.authenticate("portal_a", "portal_a_pw")
        self.post("/my/collections/preferences", opt_out_whatsapp="on")
        self.assertEqual(self.partner_a.collection_consent_log_ids.mapped("signed_link"), [False])
