"""Odoo as a source of the policy document (the addon's configuration), over JSON-RPC with odoorpc."""
