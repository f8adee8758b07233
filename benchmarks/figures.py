"""How every benchmark prints its figures: one aligned line per figure, or JSON with --format json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def print_figures(figures: Mapping[str, Any], output_format: str) -> None:
    """Print ``figures`` as JSON, or as ``name value`` lines aligned on the longest name."""
    if output_format == "json":
        print(json.dumps(figures, indent=2))
        return
    width = max(len(name) for name in figures) + 2
    for name, value in figures.items():
        print(f"{name:<{width}}{value}")
