"""Demo data of the credit hold: quotations for a held and a free customer, then one more run."""

import logging

from odoo import Command, api, models

_logger = logging.getLogger(__name__)

# (customer of account_collections' demo, quantity of shelving kits)
QUOTATIONS = [("demo_partner_levante", 4), ("demo_partner_talleres", 2)]


class CollectionSaleDemo(models.AbstractModel):
    _name = "collection.sale.demo"
    _description = "Collections Credit Hold Demo Data"

    @api.model
    def _load_demo(self):
        """Quote the demo customers, then run the collections so that their holds are decided."""
        company = self.env.ref("base.main_company")
        if not self.env["collection.case"].search_count([("company_id", "=", company.id)]):
            _logger.info("no collections demo ledger in %s: no credit hold demo", company.name)
            return False
        product = self.env.ref("account_collections_sale.demo_product_shelving")
        for xmlid, quantity in QUOTATIONS:
            self.env["sale.order"].with_company(company).create(
                {
                    "partner_id": self.env.ref(f"account_collections.{xmlid}").id,
                    "company_id": company.id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": quantity})],
                }
            )
        Demo = self.env["collection.demo"]
        self.env["collection.run"]._run_company(company, as_of=Demo._demo_as_of(company))
        return True
