"""Receivables ledgers from CSV and XLSX files: the first, simplest connector."""
