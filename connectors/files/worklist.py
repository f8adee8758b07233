"""Delivery for a ledger file: there is no platform to push to, so due actions go to the worklist.

The run's own output (the terminal table, ``--format json``, the HTML report) shows them; with
``--worklist FILE`` they are also written to CSV (or JSON, by the file's suffix) for the people
who call, write and print. Either way a delivered action is marked sent, so the next run does not
hand it over again. Text cells a spreadsheet would run as formulas are neutralised.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import IO, Any

from ..common.contract import OutboxEntry
from ..common.errors import LedgerError

COLUMNS = (
    "key",
    "customer_id",
    "level",
    "channel",
    "template",
    "tone",
    "not_before",
    "amount_due",
    "currency",
    "item_ids",
    "reason",
    "call_script",
)
OUTPUT_REFERENCE = "worklist"

_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_safe(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) by prefixing a quote;
    plain numbers stay as they are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class WorklistDeliverer:
    """Hands due actions over in the worklist (and the ``--worklist`` file when there is one)."""

    batch_size = 10_000  # a local file: claimed in large batches (a platform's deliverer takes the default)

    def __init__(self, path: Path | None) -> None:
        """Open the worklist file now, so that a path that cannot be written fails before anything is claimed."""
        self.path = path
        self._json: list[dict[str, Any]] | None = None
        self._handle: IO[str] | None = None
        self._writer: csv.DictWriter[str] | None = None
        if path is None:
            return
        self._handle = self._open(path)
        if path.suffix.lower() == ".json":
            self._json = []
        else:
            self._writer = csv.DictWriter(self._handle, COLUMNS, extrasaction="ignore")
            self._writer.writeheader()

    def deliver(self, entry: OutboxEntry) -> str:
        """Add one action to the worklist file; return where it went."""
        if self.path is None:
            return OUTPUT_REFERENCE
        row: dict[str, Any] = {name: entry.get(name) for name in COLUMNS}
        if self._json is not None:
            self._json.append({**row, "item_ids": list(entry.get("item_ids") or [])})
        elif self._writer is not None:
            row["item_ids"] = " ".join(entry.get("item_ids") or [])
            self._writer.writerow({name: csv_safe(value) for name, value in row.items()})
        return str(self.path)

    @staticmethod
    def _open(path: Path) -> IO[str]:
        try:
            return path.open("w", newline="", encoding="utf-8")
        except OSError as err:
            raise LedgerError(f"--worklist {path}: cannot write it ({err.strerror or err})") from err

    def close(self) -> None:
        """Write the JSON worklist and close the file (a run with nothing due leaves a header, or [])."""
        if self._handle is None:
            return
        if self._json is not None:
            self._handle.write(json.dumps(self._json, indent=2, ensure_ascii=False) + "\n")
        self._handle.close()
        self._handle = None
