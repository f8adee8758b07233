"""Demo data: the ledger behind the demo customers, and one run of the collections on it."""

import logging
import math
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from odoo import Command, api, models

_logger = logging.getLogger(__name__)

# (customer, days since the invoice date, amount, payment term or None for 30 days)
INVOICES = [
    # instalments (half at 30 days, half at 60), 65 and 35 days overdue: the final notice, a letter
    ("demo_partner_levante", 95, 9680.0, "account_collections.demo_payment_term_30_60"),
    # 30 % now and 70 % in 60 days: the first instalment 38 days overdue, a call for the collector
    ("demo_partner_talleres", 38, 5400.0, "account.account_payment_term_advance_60days"),
    # disputed (below), and an invoice not yet due
    ("demo_partner_ferreteria", 70, 2420.0, None),
    ("demo_partner_ferreteria", 5, 1180.0, None),
    # 50 days overdue, partly paid; a payment plan for the rest (below)
    ("demo_partner_mirador", 80, 7800.0, None),
    # paid in full after the first reminder: the case closes
    ("demo_partner_turia", 50, 1250.0, None),
    # 18 days overdue, a credit note (below) and an invoice not yet due
    ("demo_partner_northwind", 48, 3250.0, None),
    ("demo_partner_northwind", 12, 1900.0, None),
    # 10 days overdue: the first reminder, then a promise to pay (below)
    ("demo_partner_harbour", 40, 6300.0, None),
    # due in two days: the courtesy reminder
    ("demo_partner_bluebell", 28, 2150.0, None),
    # the portal user (portal / portal): 15 days overdue and not yet due
    ("base.partner_demo_portal", 45, 640.0, None),
    ("base.partner_demo_portal", 5, 380.0, None),
]
# (customer, days ago, amount): partial payments of the oldest instalments
PAYMENTS = [
    ("demo_partner_levante", 20, 2000.0),
    ("demo_partner_talleres", 9, 600.0),
    ("demo_partner_mirador", 30, 800.0),
]
PLAN_INSTALMENTS = 3


class CollectionDemo(models.AbstractModel):
    _name = "collection.demo"
    _description = "Collections Demo Data"

    @api.model
    def _load_demo(self):
        """Post the demo ledger of the main company and run the collections on it as of this morning."""
        company = self.env.ref("base.main_company")
        Journal = self.env["account.journal"]
        if not Journal.search_count([*Journal._check_company_domain(company), ("type", "=", "sale")]):
            _logger.info("no sales journal in %s (no chart of accounts): no collections demo ledger", company.name)
            return False
        return self.with_company(company)._load_demo_ledger(company)

    def _load_demo_ledger(self, company):
        # dated from the morning of the run, so that the figures read the same whenever the demo is loaded
        as_of = self._demo_as_of(company)
        today = as_of.astimezone(ZoneInfo(company.collection_tz or "UTC")).date()
        invoices = {}
        for xmlid, age, amount, term in INVOICES:
            move = self._demo_move("out_invoice", xmlid, today - timedelta(days=age), amount, term)
            invoices.setdefault(xmlid, move)
        self._demo_move("out_refund", "demo_partner_northwind", today - timedelta(days=10), 450.0, None)
        for xmlid, age, amount in PAYMENTS:
            self._demo_payment(invoices[xmlid], amount, today - timedelta(days=age))
        invoices["demo_partner_ferreteria"].action_collection_toggle_dispute()

        Run = self.env["collection.run"]
        Run._run_company(company, as_of=as_of)
        self._demo_payment(invoices["demo_partner_turia"], 1250.0, today)
        self._demo_promise(company, "demo_partner_harbour", 6300.0, today, today + timedelta(days=7))
        self._demo_plan(company, "demo_partner_mirador", today)
        Run._run_company(company, as_of=as_of)
        return True

    def _demo_partner(self, xmlid):
        return self.env.ref(xmlid if "." in xmlid else f"account_collections.{xmlid}")

    def _demo_move(self, move_type, partner_xmlid, invoice_date, amount, term_xmlid):
        move = self.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": self._demo_partner(partner_xmlid).id,
                "invoice_date": invoice_date,
                "invoice_payment_term_id": self.env.ref(term_xmlid or "account.account_payment_term_30days").id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Goods as per delivery note",
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.clear()],
                        }
                    ),
                ],
            }
        )
        move.action_post()
        return move

    def _demo_payment(self, invoice, amount, date):
        """Register a customer payment on an invoice as the accountant would (it settles the oldest instalment)."""
        register = self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        )
        register.create(
            {"amount": amount, "payment_date": date, "payment_difference_handling": "open"}
        )._create_payments()

    def _demo_as_of(self, company):
        """This morning at 10:30 in the company's time zone, or the last working morning before now.

        A moment inside the contact hours: the run sends that morning's reminders and gives the
        collector that morning's tasks, whatever the time the demo data is loaded at.
        """
        zone = ZoneInfo(company.collection_tz or "UTC")
        now = datetime.now(timezone.utc)
        moment = datetime.combine(now.astimezone(zone).date(), time(10, 30), tzinfo=zone)
        while moment > now or moment.isoweekday() > 5:
            moment -= timedelta(days=1)
        return moment.astimezone(timezone.utc).replace(microsecond=0)

    def _demo_case(self, company, partner_xmlid):
        return self.env["collection.case"].search(
            [("partner_id", "=", self._demo_partner(partner_xmlid).id), ("company_id", "=", company.id)]
        )

    def _demo_promise(self, company, partner_xmlid, amount, today, date):
        case = self._demo_case(company, partner_xmlid)
        self.env["collection.promise"].create(
            {"case_id": case.id, "amount": amount, "created_on": today, "promised_date": date}
        )

    def _demo_plan(self, company, partner_xmlid, today):
        """A plan for the rest of the balance, within the rule of the customer's risk category."""
        case = self._demo_case(company, partner_xmlid)
        category = case.risk_category_id
        total = case.open_amount
        frequency = next(
            (f for f in ("monthly", "biweekly", "weekly") if not category or category[f"plan_{f}"]), "monthly"
        )
        down_pct = max(category.plan_min_down_payment_pct, 20.0)
        self.env["collection.plan"].create(
            {
                "case_id": case.id,
                "total": total,
                "down_payment": math.ceil(total * down_pct / 100.0),
                "installments": min(PLAN_INSTALMENTS, category.plan_max_installments or PLAN_INSTALMENTS),
                "frequency": frequency,
                "created_on": today,
                "first_due": today + timedelta(days=14),
            }
        )
