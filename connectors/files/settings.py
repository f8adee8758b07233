"""Settings of a file ledger (nothing secret)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileSettings:
    """Where a ledger file is and how to read it."""

    path: Path
    tenant: str
    company_currency: str = "EUR"
    mapping_path: Path | None = None
    sheet: str | None = None
