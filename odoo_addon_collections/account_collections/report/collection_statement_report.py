from odoo import api, models

from ..models.collection_statement import STATEMENT


class ReportCollectionStatement(models.AbstractModel):
    """The statement of account as a document of its own (on demand, monthly, in the portal)."""

    _name = "report.account_collections.report_collection_statement"
    _description = "Statement of Account"

    @api.model
    def _get_report_values(self, docids, data=None):
        cases = self.env["collection.case"].browse(docids)
        statements = dict(self.env.context.get("collection_statements") or {})
        missing = cases.filtered(lambda case: case.id not in statements)
        if missing:  # printed from the case or the portal: the statement as it stands now
            statements.update(self.env["collection.statement"]._for_cases(missing, purpose=STATEMENT))
        lang = self.env.context.get("collection_statement_lang")  # a portal reader's language
        if lang:
            statements = {case_id: document.with_lang(lang) for case_id, document in statements.items()}
        return {"doc_ids": docids, "doc_model": "collection.case", "docs": cases, "statements": statements}
