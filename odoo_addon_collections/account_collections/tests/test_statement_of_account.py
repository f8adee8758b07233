"""The statement of account on demand and every month: its figures are the ledger's, in the customer's language."""

from datetime import date, datetime, timezone

import lxml.html
from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import NOW, CollectionsCase, sections, text


@tagged("post_install", "-at_install")
class TestStatementOfAccountSent(CollectionsCase):
    def ledger(self):
        """Instalments (one overdue, one not yet due), a partly paid invoice, a credit note, a disputed invoice."""
        term = self.env["account.payment.term"].create(
            {
                "name": "50% in 30 days, 50% in 90 days",
                "line_ids": [
                    Command.create({"value": "percent", "value_amount": 50.0, "delay_type": "days_after", "nb_days": n})
                    for n in (30, 90)
                ],
            }
        )
        self.instalments = self.invoice(1200.0, "2026-09-25", payment_term=term)  # 1st due 2026-10-25: 30 days
        self.partial = self.invoice(800.0, "2026-11-04")  # 20 days overdue
        self.pay(self.partial, 300.0, "2026-11-20")
        self.refund = self.invoice(200.0, "2026-11-12", move_type="out_refund")
        self.disputed = self.invoice(400.0, "2026-10-30")
        self.disputed.action_collection_toggle_dispute()

    def open_lines(self):
        return self.env["account.move.line"].search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("reconciled", "=", False),
                ("parent_state", "=", "posted"),
            ]
        )

    def check_against_the_ledger(self, html, lang):
        """Every row and total of a rendered statement, compared with the receivable lines."""
        labels = {
            "en_US": ("Overdue", "Credits in your favour", "Under review", "Not yet due", "Credit note", "instalment"),
            "es_ES": ("Vencido", "Créditos a su favor", "En revisión", "Aún no vencido", "Nota de crédito", "plazo"),
        }[lang]
        overdue_title, credits_title, disputed_title, upcoming_title, credit_note, instalment = labels
        first, second = self.receivable(self.instalments)
        links = {"Pay online", "Pagar en línea", ""}  # the email's pay links; the PDF has none
        found = {title: [[c for c in row if c not in links] for row in rows] for title, rows in sections(html).items()}
        self.assertEqual(
            found[overdue_title],
            [
                self.expected_row(
                    first, lang, days=30, installment=f"{instalment} 1 {'of' if lang == 'en_US' else 'de'} 2"
                ),
                self.expected_row(self.receivable(self.partial), lang, days=20),
            ],
        )
        self.assertEqual(self.receivable(self.partial).amount_residual, 500.0)  # the partial payment is deducted
        (credit,) = found[credits_title]
        self.assertEqual(credit[0], f"{self.refund.name} ({credit_note})")
        self.assertEqual(credit[2], self.money(abs(self.receivable(self.refund).amount_residual), lang))
        self.assertEqual(found[disputed_title], [self.expected_row(self.receivable(self.disputed), lang)])
        self.assertEqual(
            found[upcoming_title],
            [self.expected_row(second, lang, installment=f"{instalment} 2 {'of' if lang == 'en_US' else 'de'} 2")],
        )
        lines = self.open_lines()
        balance = sum(lines.mapped("amount_residual"))
        overdue = lines.filtered(
            lambda line: line.date_maturity < self.today and line.debit and line.move_id.payment_state != "blocked"
        )
        credits = -sum(lines.filtered(lambda line: line.credit).mapped("amount_residual"))
        self.assertEqual((balance, sum(overdue.mapped("amount_residual")) - credits), (1900.0, 900.0))
        body = text(lxml.html.fromstring(html))
        balance_label = "Balance of your account" if lang == "en_US" else "Saldo de su cuenta"
        due_label = "Amount due" if lang == "en_US" else "Importe pendiente"
        self.assertIn(f"{balance_label}: {self.money(balance, lang)}", body)
        self.assertIn(f"{due_label}: {self.money(sum(overdue.mapped('amount_residual')) - credits, lang)}", body)

    @freeze_time(NOW)
    def test_a_statement_sent_from_the_customer_has_the_ledger_figures_in_the_email_and_the_pdf(self):
        self.today = date(2026, 11, 24)
        self.ledger()
        self.partner_a.action_collection_send_statement()
        case = self.case()
        (action,) = case.action_ids.filtered(lambda a: a.level_key == "statement")
        self.assertEqual((action.state, action.channel), ("done", "email"))
        (email,) = case.message_ids.filtered(lambda m: m.subject and "statement of account" in m.subject)
        self.check_against_the_ledger(email.body, "en_US")
        (attachment,) = email.attachment_ids
        self.assertTrue(attachment.name.startswith(f"statement-{case.id}-2026-11-24."))
        report = self.env.ref("account_collections.action_report_collection_statement")
        html = report._render_qweb_html(report.id, case.ids)[0].decode()
        self.assertIn("Statement of account", html)
        self.check_against_the_ledger(html, "en_US")
        self.assertIn(f"/my/collections/{case.id}/preferences?access_token=", email.body)  # the opt-out, signed

    @freeze_time(NOW)
    def test_a_spanish_customer_reads_the_statement_in_spanish(self):
        self.today = date(2026, 11, 24)
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.partner_a.lang = "es_ES"
        self.ledger()
        self.partner_a.action_collection_send_statement()
        case = self.case()
        (email,) = case.message_ids.filtered(lambda m: m.subject and "estado de cuenta" in m.subject.lower())
        self.check_against_the_ledger(email.body, "es_ES")
        report = self.env.ref("account_collections.action_report_collection_statement")
        html = report._render_qweb_html(report.id, case.ids)[0].decode()
        self.assertIn("Estado de cuenta", html)
        self.assertNotIn("Balance of your account", html)
        self.check_against_the_ledger(html, "es_ES")

    @freeze_time(NOW)
    def test_the_monthly_cron_sends_one_statement_a_month_to_the_customers_who_asked(self):
        self.invoice(500.0, "2026-11-10")
        self.partner_b.email = "ap@partner-b.example.com"
        self.invoice(300.0, "2026-11-10", partner=self.partner_b)
        self.run_collections()
        self.partner_a.collection_statement_monthly = True
        Case = self.env["collection.case"]
        Case._cron_monthly_statements()
        Case._cron_monthly_statements()  # twice in a month: still one
        statements = self.env["collection.action"].search([("level_key", "=", "statement")])
        self.assertEqual(statements.case_id.partner_id, self.partner_a)
        self.assertEqual(statements.key, f"statement-{self.case().id}-2026-11")
        self.Run._execute_due_actions(self.env.company, datetime(2026, 11, 24, 11, tzinfo=timezone.utc))
        self.assertEqual(statements.state, "done")

    @freeze_time(NOW)
    def test_no_statement_to_a_customer_who_refuses_emails(self):
        self.invoice(500.0, "2026-11-10")
        self.partner_a.collection_opt_out_email = True
        with self.assertRaisesRegex(UserError, "does not accept emails"):
            self.partner_a.action_collection_send_statement()
