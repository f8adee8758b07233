"""The contract every platform implements, and what it registers.

A platform lives in its own package (``connectors/<name>/``) with the same roles: settings,
client, streams, mappers, actions, webhooks and a connect command. It registers one
:class:`PlatformSpec` under the entry point group ``odoo_collections.platforms``::

    [options.entry_points] / setup(entry_points=...)
    odoo_collections.platforms =
        xero = connectors.xero.plugin:SPEC

so adding a platform is one folder and one registration: the CLI (``connect <name>``,
``status``, ``run``), the webhook routes (``/webhooks/<name>``) and the Celery schedule read the
registry (``connectors.registry``) and never name a platform.

Every command runs a tenant through the same pipeline (``connectors.pipeline``): the
platform's :meth:`Platform.sync`, the engine's plan, then the platform's :class:`Deliverer` for
the due actions - never called under a dry run, which is how a dry run makes no write request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from collections_engine.types import Portfolio

from .ratelimit import Limit

if TYPE_CHECKING:
    import click

    from .runtime import Runtime
    from .webhooks import Receiver

ENTRY_POINT_GROUP = "odoo_collections.platforms"


class OutboxEntry(TypedDict, total=False):
    """An action recorded in the outbox, as a deliverer receives it (see ``Store.claim_actions``)."""

    key: str
    attempts: int
    reclaimed: bool
    customer_id: str
    level: str
    channel: str
    template: str | None
    tone: str
    not_before: str
    amount_due: str
    currency: str
    item_ids: list[str]
    reason: str
    call_script: str | None
    context: dict[str, Any]


class TenantSettings(Protocol):
    """What the pipeline needs of any platform's settings."""

    @property
    def tenant(self) -> str:
        """The store's name of the tenant, ``<platform>:<id>``."""

    @property
    def home_currency(self) -> str:
        """The company currency amounts are compared in."""


class Deliverer(Protocol):
    """Pushes due actions to the platform (or, for a ledger file, to the worklist).

    A deliverer may set ``batch_size``: how many entries a run claims at a time (default 100, which a
    remote platform delivers well within the claim's lease; a local file takes many more).
    """

    def deliver(self, entry: OutboxEntry) -> str:
        """Deliver one claimed action; return the platform's reference. Raise ``ConnectorError`` on failure."""

    def close(self) -> None:
        """Finish the batch (flush a file, release a connection)."""


@dataclass(frozen=True)
class SyncRequest:
    """How to sync a tenant: the same options for every platform (each ignores what it has no use for)."""

    today: date
    full: bool = False
    dry_run: bool = False
    on_progress: Callable[[str, int, int | None], None] | None = None
    """``(what, done, total)`` while syncing: a stream's records, or a file's rows."""


@dataclass
class SyncOutcome:
    """What a sync read, wrote and refused."""

    figures: dict[str, Any] = field(default_factory=dict)
    """Per stream (pages, records, written, quarantined), or a file's import figures."""
    api_calls: int = 0
    skipped: bool = False
    """Nothing to read (the same file as last time)."""
    problems: list[dict[str, Any]] = field(default_factory=list)
    """Rejected rows or quarantined records: ``{"line"| "record", "reason"}``."""
    closed_items: list[str] = field(default_factory=list)
    closing_withheld: str | None = None
    preview: Callable[[Portfolio], Portfolio] | None = None
    """Under a dry run of a source that does not write: the stored portfolio -> as the sync would have left it."""
    details: dict[str, Any] = field(default_factory=dict)
    """Platform-specific facts worth printing (a recognised report, a sync's start time)."""


class Platform(Protocol):
    """One connected tenant of a platform."""

    name: str

    @property
    def settings(self) -> TenantSettings:
        """The tenant's settings."""

    @property
    def api_calls(self) -> int:
        """Requests made so far (retries included)."""

    def sync(self, runtime: Runtime, request: SyncRequest) -> SyncOutcome:
        """Bring the store up to date with the platform (under the tenant's sync lock)."""

    def deliverer(self, runtime: Runtime) -> Deliverer:
        """The deliverer of this tenant's due actions (only ever asked for outside a dry run)."""


@dataclass(frozen=True)
class PlatformSpec:
    """What a platform registers: how to open a tenant, connect one, verify its webhooks, and its limits."""

    name: str
    title: str
    open: Callable[[Runtime, str, Mapping[str, Any]], Platform]
    """Open a tenant from its name and stored (non-secret) settings; secrets come from the environment."""
    limits: tuple[Limit, ...] = ()
    connect: click.Command | None = None
    """The ``odoo-collections connect <name>`` command, when tenants are connected by OAuth."""
    webhooks: Callable[[], Receiver] | None = None
    """The receiver of ``POST /webhooks/<name>``, when the platform sends webhooks."""
    scheduled: bool = True
    """Whether the Celery beat syncs and plans its tenants (a ledger file is run by hand instead)."""
    tenant_prefix: str = ""
    """Tenants are named ``<prefix>:<id>``; the platform's name when empty."""

    @property
    def prefix(self) -> str:
        """The tenant-name prefix of this platform."""
        return self.tenant_prefix or self.name

    def owns(self, tenant: str) -> bool:
        """Whether a tenant name belongs to this platform."""
        return tenant.startswith(f"{self.prefix}:")

