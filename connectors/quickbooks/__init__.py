"""QuickBooks Online connector (python-quickbooks + intuit-oauth)."""
