"""The line every platform writes beside an action (a QuickBooks private note, a Xero history note)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOTE_MARK = "[Collections]"


def note_line(entry: Mapping[str, Any]) -> str:
    """One line of the private note for an action."""
    context = entry.get("context") or {}
    parts = [
        f"{NOTE_MARK} {str(entry['not_before'])[:10]}",
        f"level {entry['level']} ({entry['tone']})",
        f"by {entry['channel']}",
        f"due {entry['amount_due']} {entry['currency']}",
    ]
    if context.get("stage"):
        parts.append(f"stage {context['stage']}")
    if context.get("risk_category"):
        parts.append(f"risk {context['risk_category']} ({context.get('risk_score')})")
    for promise in context.get("promises") or []:
        parts.append(f"promise {promise['amount']} by {promise['deadline']} {promise['status']}")
    return "; ".join(parts)
