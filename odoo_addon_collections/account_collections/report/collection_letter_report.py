from odoo import api, models


class ReportCollectionLetter(models.AbstractModel):
    """The collection letter prints the case's statement of account, as every other channel does."""

    _name = "report.account_collections.report_collection_letter"
    _description = "Collection Letter"

    @api.model
    def _get_report_values(self, docids, data=None):
        cases = self.env["collection.case"].browse(docids)
        statements = dict(self.env.context.get("collection_statements") or {})
        missing = cases.filtered(lambda case: case.id not in statements)
        if missing:  # printed from the case: the statement as it stands now
            statements.update(self.env["collection.statement"]._for_cases(missing))
        return {"doc_ids": docids, "doc_model": "collection.case", "docs": cases, "statements": statements}
