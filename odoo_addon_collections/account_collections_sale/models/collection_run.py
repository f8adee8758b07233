"""The daily run with credit holds: the policy gets the hold rules, the engine decides, the cases keep its answer."""

import dataclasses
from zoneinfo import ZoneInfo

from odoo import api, models

from odoo.addons.account_collections.models import collection_phrases

_HOLD_FIELDS = (
    "credit_hold",
    "credit_hold_since",
    "credit_hold_parts",
    "credit_hold_reason",
    "credit_hold_amount",
)


class CollectionRun(models.AbstractModel):
    _inherit = "collection.run"

    @api.model
    def _policy_document(self, company):
        """With the company's hold rules, or an empty section when only manual holds hold someone.

        A company that holds nobody exports the document it exported before: no section, no holds.
        """
        document = super()._policy_document(company)
        # the company's rules and holds whoever runs it (the cron's user may not work in that company)
        rules = self.env["collection.credit.hold.rule"].sudo().search([("company_id", "=", company.id)])
        manual = (
            self.env["collection.case"]
            .sudo()
            .search_count([("company_id", "=", company.id), ("credit_hold_manual_reason", "!=", False)], limit=1)
        )
        if rules or manual:
            document["credit_hold"] = {"rules": [rule._policy_rule(company.currency_id) for rule in rules]}
        return document

    @api.model
    def _read_customers(self, partner_ids, company=None):
        """Each customer with the reason of their manual hold in the company, if they have one."""
        customers = super()._read_customers(partner_ids, company)
        company = company or self.env.company
        manual = {
            case.partner_id.id: case.credit_hold_manual_reason
            for case in self.env["collection.case"].search(
                [
                    ("company_id", "=", company.id),
                    ("partner_id", "in", partner_ids),
                    ("credit_hold_manual_reason", "!=", False),
                ]
            )
        }
        return [
            dataclasses.replace(customer, manual_credit_hold=manual[int(customer.id)])
            if int(customer.id) in manual
            else customer
            for customer in customers
        ]

    @api.model
    def _opens_case(self, decision, closed_stage):
        """A held customer gets a case (the hold lives there), even with nothing to follow up."""
        return super()._opens_case(decision, closed_stage) or decision.credit_hold is not None

    @api.model
    def _write_decisions(self, company, decisions, as_of, statements):
        """Write each case's credit hold as the engine decided it; say on the case when one is set or lifted."""
        result = super()._write_decisions(company, decisions, as_of, statements)
        today = as_of.astimezone(ZoneInfo(company.collection_tz or "UTC")).date()
        holds = decisions.credit_holds()
        partner_ids = [int(d.customer_id) for d in decisions.customers]
        cases = (
            self.env["collection.case"]
            .with_context(active_test=False)
            .search([("company_id", "=", company.id), ("partner_id", "in", partner_ids)])
        )
        updates = []
        for case in cases:
            hold = holds.get(str(case.partner_id.id))
            if hold is None and not case.credit_hold:
                continue
            values = self._hold_values(case, hold, today)
            updates.append((case.id, values))
            if hold is not None and not case.credit_hold:
                why = collection_phrases.render_parts(self.env, values["credit_hold_parts"])
                case._message_log(
                    body=self.env._("Credit hold: the customer's quotations wait. Why: %(why)s.", why=why)
                )
            elif hold is None:
                case._message_log(body=self.env._("Credit hold lifted: its cause is gone."))
        self._bulk_update("collection.case", updates)
        # what was computed from the cases' old values in this transaction (the reasons shown, the partners' banner)
        updated = self.env["collection.case"].browse([case_id for case_id, _values in updates])
        updated.invalidate_recordset()
        updated.partner_id.invalidate_recordset(["collection_credit_hold", "collection_credit_hold_message"])
        return result

    @api.model
    def _hold_values(self, case, hold, today):
        """A case's credit hold fields for the engine's hold (None: not held); a hold keeps the day it began."""
        if hold is None:
            return dict.fromkeys(_HOLD_FIELDS, None) | {"credit_hold": False, "credit_hold_amount": 0.0}
        return {
            "credit_hold": True,
            "credit_hold_since": case.credit_hold_since if case.credit_hold and case.credit_hold_since else today,
            "credit_hold_parts": [[part.code, dict(part.params)] for part in hold.reason_parts],
            "credit_hold_reason": hold.reason,
            "credit_hold_amount": float(hold.overdue),
        }
