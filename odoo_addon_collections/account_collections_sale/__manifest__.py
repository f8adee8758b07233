{
    "name": "Collections: Credit Hold on Sales",
    "summary": "Customers on credit hold cannot have their quotations confirmed: hold rules per risk category "
    "or stage decided by the collections engine, a manual hold with a reason, a manager's override",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "odoo-collections",
    "website": "https://github.com/odoo-collections/odoo-collections",
    "depends": ["sale", "account_collections"],
    # the engine alone, as for account_collections (the addon's wheel requires it)
    "external_dependencies": {"python": ["odoo-collections-engine"]},
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "views/collection_credit_hold_rule_views.xml",
        "views/collection_credit_hold_manual_views.xml",
        "views/collection_credit_hold_override_views.xml",
        "views/collection_case_views.xml",
        "views/res_partner_views.xml",
        "views/sale_order_views.xml",
    ],
    "demo": ["demo/collection_sale_demo.xml"],
    "development_status": "Beta",
    "installable": True,
}
