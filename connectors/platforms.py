"""The platforms a tenant can be connected to, by name."""

from __future__ import annotations

from typing import Any

from .common.errors import ConfigurationError
from .common.runtime import Runtime


def open_platform(runtime: Runtime, tenant: str) -> Any:
    """Open a connected tenant's platform from its stored settings."""
    record = next((t for t in runtime.store.connected_tenants() if t["tenant"] == tenant), None)
    if record is None:
        raise ConfigurationError(f"{tenant}: no such connected tenant (run `odoo-collections connect`)")
    return platform_class(record["platform"]).from_record(runtime, record["settings"])


def platform_class(name: str) -> Any:
    """The class of a platform name."""
    if name == "quickbooks":
        from .quickbooks.platform import QuickBooksPlatform

        return QuickBooksPlatform
    raise ConfigurationError(f"platform {name!r} is not supported (supported: quickbooks)")
