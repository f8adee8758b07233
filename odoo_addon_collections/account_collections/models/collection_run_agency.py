"""The daily run and collection agencies: no dunning of handed-over customers, hand-over by level."""

from dataclasses import replace
from datetime import timezone

from odoo import api, models


class CollectionRun(models.AbstractModel):
    _inherit = "collection.run"

    @api.model
    def _policy_document(self, company):
        """The agency stage is the addon's, not the engine's: the run puts cases there, the policy never does.

        Left out of the document unless a level moves cases to it, so the policy (and what the connectors
        run) stays the same whether or not agencies are used.
        """
        document = super()._policy_document(company)
        agency_keys = set(
            self.env["collection.stage"]
            .search([("agency_stage", "=", True), ("company_id", "in", (company.id, False))])
            .mapped("key")
        )
        used = {
            level.get("stage")
            for strategy in document["strategies"]
            for levels in [strategy["levels"], *(v["levels"] for v in strategy.get("variants", ()))]
            for level in levels
        }
        document["stages"] = [s for s in document["stages"] if s["key"] not in agency_keys - used]
        return document

    @api.model
    def _read_customers(self, partner_ids, company=None):
        """A customer whose case is with an agency is not dunned by us (the engine plans nothing for it)."""
        customers = super()._read_customers(partner_ids, company)
        company = company or self.env.company
        handed_over = {
            str(partner_id)
            for partner_id in self.env["collection.case"]
            .search([("company_id", "=", company.id), ("partner_id", "in", partner_ids), ("agency_id", "!=", False)])
            .partner_id.ids
        }
        return [replace(c, do_not_dun=True) if c.id in handed_over else c for c in customers]

    @api.model
    def _write_decisions(self, company, decisions, as_of, statements):
        """Hand over the cases that reached a level with an agency; keep the handed-over ones in their stage."""
        result = super()._write_decisions(company, decisions, as_of, statements)
        partner_ids = [int(d.customer_id) for d in decisions.customers]
        cases = self.env["collection.case"].search([("company_id", "=", company.id), ("partner_id", "in", partner_ids)])
        naive_now = as_of.astimezone(timezone.utc).replace(tzinfo=None)
        reached = self.env["collection.action"].search(
            [
                ("case_id", "in", cases.filtered(lambda c: not c.agency_id).ids),
                ("state", "in", ("scheduled", "to_do")),
                ("planned_at", "=", naive_now),
                ("level_id.agency_id", "!=", False),
            ]
        )
        for case, actions in reached.grouped("case_id").items():
            agency = actions.level_id.agency_id[:1]
            if agency.active and agency.company_id == case.company_id:
                case._hand_over_to_agency(agency, triggered_by=actions)
        for case in cases.filtered("agency_id"):
            stage = case._agency_stage()
            if stage and case.stage_id != stage and case.stage_id.role != "closed":
                case.with_context(tracking_disable=True).stage_id = stage
        return result
