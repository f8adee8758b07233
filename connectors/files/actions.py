"""For a file ledger there is no platform to push to: due actions are exported as a worklist file."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from ..common.store import Store

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


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_safe(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) by prefixing a quote;
    plain numbers stay as they are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def export_due_actions(store: Store, tenant: str, path: Path, due_by: datetime) -> int:
    """Write the pending actions due by an instant to CSV or JSON and mark them sent; return how many."""
    actions = store.pending_actions(tenant, limit=1_000_000, due_by=due_by)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(actions, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for action in actions:
                row = {**action, "item_ids": " ".join(action["item_ids"])}
                writer.writerow({name: csv_safe(value) for name, value in row.items()})
    for action in actions:
        store.mark_sent(tenant, action["key"], due_by, external_ref=str(path))
    return len(actions)
