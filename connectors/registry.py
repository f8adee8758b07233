"""The platforms installed, read from the ``odoo_collections.platforms`` entry points.

Nothing here names a platform: a package registers a ``PlatformSpec`` (see
``connectors.common.contract``) and the CLI, the webhook routes and the worker find it.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from .common.contract import ENTRY_POINT_GROUP, Platform, PlatformSpec
from .common.errors import ConfigurationError
from .common.runtime import Runtime
from .common.webhooks import Receiver

_logger = logging.getLogger(__name__)


@cache
def platforms() -> dict[str, PlatformSpec]:
    """Every registered platform by name (a registration that fails to load is logged and left out)."""
    found: dict[str, PlatformSpec] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = entry.load()
        except Exception as err:  # a broken plug-in must not take the others down
            _logger.error("platform %s (%s) cannot be loaded: %s", entry.name, entry.value, err)
            continue
        if not isinstance(spec, PlatformSpec) or spec.name != entry.name:
            _logger.error("entry point %s = %s is not a PlatformSpec named %r", entry.name, entry.value, entry.name)
            continue
        found[spec.name] = spec
    if not found:
        _logger.error("no platform is registered: is the odoo-collections distribution installed (pip install -e .)?")
    return dict(sorted(found.items()))


def platform_spec(name: str) -> PlatformSpec:
    """The registered platform of that name."""
    spec = platforms().get(name)
    if spec is None:
        raise ConfigurationError(f"platform {name!r} is not installed (installed: {', '.join(platforms()) or 'none'})")
    return spec


def spec_of_tenant(tenant: str) -> PlatformSpec:
    """The platform a tenant name belongs to (``quickbooks:123`` -> quickbooks)."""
    for spec in platforms().values():
        if spec.owns(tenant):
            return spec
    raise ConfigurationError(f"{tenant}: not a tenant of an installed platform ({', '.join(platforms())})")


def open_platform(runtime: Runtime, tenant: str) -> Platform:
    """Open a connected tenant from its stored settings."""
    record = runtime.store.tenants.tenant_record(tenant)
    if record is None:
        raise ConfigurationError(f"{tenant}: no such connected tenant (run `odoo-collections connect`)")
    return platform_spec(record["platform"]).open(runtime, tenant, record["settings"])


def webhook_routes() -> dict[str, Receiver]:
    """``/webhooks/<name>`` for every platform that receives webhooks."""
    return {f"/webhooks/{name}": spec.webhooks() for name, spec in platforms().items() if spec.webhooks is not None}
