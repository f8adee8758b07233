"""The book of tests/data/same_policy.json, built in Odoo and run by the addon, reaches the decisions the
connectors reach on a ledger file, QuickBooks and Xero under the same policy document (their test reads the
same file): that document is what the addon's default configuration exports."""

import json
from datetime import datetime, timedelta
from pathlib import Path

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.account_collections.tests.common import CollectionsCase

FIXTURE = json.loads((Path(__file__).parent / "data" / "same_policy.json").read_text(encoding="utf-8"))
AS_OF = datetime.fromisoformat(FIXTURE["as_of"])


@tagged("post_install", "-at_install")
class TestSamePolicy(CollectionsCase):
    def test_the_addon_reaches_the_decisions_of_every_connector(self):
        from collections_engine.policy import policy_to_json

        configured = json.loads(policy_to_json(self.Run._policy(self.env.company)))
        shared = dict(FIXTURE["policy"], name=configured["name"])
        self.assertEqual(configured, shared, "the connectors' test runs the document this configuration exports")
        self.assertEqual(self.env.company.currency_id.name, FIXTURE["currency"])
        today = AS_OF.date()
        partners = {}
        for customer in FIXTURE["book"]:
            partner = self.env["res.partner"].create(
                {
                    "name": customer["name"],
                    "email": customer["email"],
                    "street": "1 Main St",
                    "city": "Springfield",
                    "lang": "en_US",
                }
            )
            partners[partner.id] = customer["name"]
            for invoice in customer["invoices"]:
                due = today - timedelta(days=invoice["days_overdue"])
                move = self.init_invoice(
                    "out_invoice",
                    partner=partner,
                    invoice_date=due - timedelta(days=30),
                    amounts=[float(invoice["amount"])],
                    taxes=[],
                )
                move.invoice_date_due = due
                move.action_post()
                paid = float(invoice["amount"]) - float(invoice["open"])
                if paid:
                    self.pay(move, paid, due - timedelta(days=25))
        with freeze_time(AS_OF.replace(tzinfo=None)):
            self.Run._run_company(self.env.company, as_of=AS_OF, send=False)
        found = {}
        for partner_id, name in partners.items():
            case = self.env["collection.case"].search([("partner_id", "=", partner_id)])
            actions = sorted(
                (a.level_key, a.channel, f"{a.amount_due:.2f}") for a in case.action_ids if a.level_key != "thank_you"
            )
            found[name] = {"level": case.level_id.key if case.level_id else None, "actions": [list(a) for a in actions]}
        expected = {
            name: {"level": d["level"], "actions": sorted(d["actions"])} for name, d in FIXTURE["expected"].items()
        }
        self.assertEqual(found, expected)
