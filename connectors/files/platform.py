"""A ledger file as a platform: its sync imports the file, its delivery writes the worklist.

The tenant is the company (``files:NAME``), never the file, so that each day's export of the
same ledger continues its history. A run without a file plans what the store holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from collections_engine.types import Portfolio

from ..common.contract import PlatformSpec, SyncOutcome, SyncRequest
from ..common.runtime import Runtime
from .settings import PLATFORM, FileSettings
from .streams import ImportResult, import_ledger, preview_portfolio
from .worklist import WorklistDeliverer


def report_json(result: ImportResult, planned_for: date) -> dict[str, Any] | None:
    """The accounting report a file was recognised as, with a note when its date is not the planning date."""
    if result.report is None:
        return None
    report: dict[str, Any] = result.report.to_json()
    report["describe"] = result.report.describe()
    if report["as_of"] and report["as_of"] != planned_for.isoformat():
        report["notes"].append(
            f"the report is as of {report['as_of']} but this run plans for {planned_for}: "
            f"give --as-of {report['as_of']} to plan on the report's date"
        )
    return report


class LedgerPlatform:
    """One company's receivables ledger, read from the files it exports."""

    name = PLATFORM

    def __init__(self, settings: FileSettings) -> None:
        self.settings = settings

    @property
    def api_calls(self) -> int:
        """A file makes no API call."""
        return 0

    def sync(self, runtime: Runtime, request: SyncRequest) -> SyncOutcome:
        """Import the run's file (previewed, not stored, under a dry run); nothing to do without a file."""
        settings, store = self.settings, runtime.store
        if settings.path is None:
            return SyncOutcome(skipped=True, details={"file": None})
        progress = request.on_progress
        result = import_ledger(
            settings,
            store,
            progress=(lambda done, total: progress("ledger", done, total)) if progress else None,
            today=request.today,
            dry_run=request.dry_run,
            allow_closing=settings.allow_closing,
            max_closing_share=settings.max_closing_share,
        )
        if not request.dry_run:
            store.tenants.save_tenant(settings.tenant, PLATFORM, settings.to_record())
            store.tenants.mark_synced(settings.tenant, runtime.clock())

        def preview(portfolio: Portfolio) -> Portfolio:
            return preview_portfolio(portfolio, result, request.today)

        return SyncOutcome(
            figures={
                "rows_read": result.rows_read,
                "customers": result.customers,
                "items": result.items,
                "payments": result.payments,
                "closed": result.closed,
            },
            skipped=result.skipped,
            problems=[{"line": p.line, "reason": p.reason} for p in result.problems],
            closed_items=result.closed_ids,
            closing_withheld=result.closing_withheld,
            preview=preview if request.dry_run else None,
            details={"file": str(settings.path), "report": report_json(result, request.today)},
        )

    def deliverer(self, runtime: Runtime) -> WorklistDeliverer:
        """The worklist: the run's output, and the ``--worklist`` file when given."""
        return WorklistDeliverer(self.settings.worklist)


def _open(runtime: Runtime, tenant: str, record: Mapping[str, Any]) -> LedgerPlatform:
    return LedgerPlatform(FileSettings.from_record(tenant, record))


SPEC = PlatformSpec(name=PLATFORM, title="Ledger file (CSV / XLSX)", open=_open, scheduled=False)
