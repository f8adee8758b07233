"""Settings of a file ledger (nothing secret)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.errors import ConfigurationError

PLATFORM = "files"
DEFAULT_MAX_CLOSING_SHARE = 0.5


@dataclass(frozen=True)
class FileSettings:
    """A company's ledger: the file of this run (none: plan what the store holds) and how to read it."""

    path: Path | None
    tenant: str
    company_currency: str = "EUR"
    mapping_path: Path | None = None
    sheet: str | None = None
    allow_closing: bool = False
    """Accept a file that closes more than ``max_closing_share`` of the open items."""
    max_closing_share: float = DEFAULT_MAX_CLOSING_SHARE
    worklist: Path | None = None
    """Where delivery writes the due actions (CSV, or JSON by its suffix); none: the run's output is the worklist."""

    def __post_init__(self) -> None:
        if not self.tenant.startswith(f"{PLATFORM}:") and ":" in self.tenant:
            raise ConfigurationError(f"files.tenant: {self.tenant!r} is not a ledger (files:NAME)")

    @property
    def home_currency(self) -> str:
        """The company currency."""
        return self.company_currency

    def to_record(self) -> dict[str, Any]:
        """What the store keeps of a ledger between runs (a file is given to each run)."""
        return {"company_currency": self.company_currency}

    @classmethod
    def from_record(cls, tenant: str, record: Mapping[str, Any]) -> FileSettings:
        """The stored ledger without a file: runs plan what the store holds."""
        return cls(path=None, tenant=tenant, company_currency=str(record.get("company_currency") or "EUR"))
