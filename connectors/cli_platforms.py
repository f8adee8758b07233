"""Commands for the platforms: connect, sync, status, worker, beat, webhooks, secret-key.

Registered on the ``odoo-collections`` group by ``connectors.cli``; each platform's part (its
``connect`` subcommand, its webhook route, its rate limits) comes from the registry, so this file
never names a platform. Exit codes: see ``connectors.cli_common``.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import click
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from .cli_common import EXIT_AUTH, CliFailure, console, err_console, failure, open_runtime
from .common.errors import ConfigurationError, ConnectorError
from .common.tokens import Cipher
from .registry import open_platform, platforms, spec_of_tenant, webhook_routes


class _ConnectGroup(click.Group):
    """``connect <platform>``: one subcommand per installed platform that connects by OAuth."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, spec in platforms().items() if spec.connect is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = platforms().get(cmd_name)
        return spec.connect if spec is not None else None


@click.group(cls=_ConnectGroup)
def connect() -> None:
    """Connect a company of an accounting platform (OAuth authorization-code flow)."""


# --------------------------------------------------------------------------------------
# sync, status
# --------------------------------------------------------------------------------------


@click.command()
@click.option("--tenant", "tenants", multiple=True, help="Connected tenant (default: every scheduled one).")
@click.option("--full", is_flag=True, help="Read everything again instead of the changes since the last sync.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def sync(ctx: click.Context, tenants: tuple[str, ...], full: bool, output_format: str) -> None:
    """Sync connected tenants in this process (the embedded default; workers do the same with Celery)."""
    from .pipeline import sync_tenant

    runtime = open_runtime(ctx)
    scheduled = {name for name, spec in platforms().items() if spec.scheduled}
    connected = runtime.store.tenants.connected_tenants()
    names = list(tenants) or [t["tenant"] for t in connected if t["platform"] in scheduled]
    if not names:
        raise CliFailure("no connected tenant: run `odoo-collections connect <platform>` first", EXIT_AUTH)
    results = []
    show = output_format == "table" and sys.stderr.isatty()
    for name in names:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console,
                      transient=True, disable=not show) as progress:
            task = progress.add_task(f"{name}: syncing")

            def on_progress(stream: str, done: int, total: int | None, task: Any = task, name: str = name) -> None:
                progress.update(task, description=f"{name}: {stream} {done:,} records")

            try:
                results.append(sync_tenant(runtime, open_platform(runtime, name), full=full, on_progress=on_progress))
            except ConnectorError as err:
                raise failure(err) from err
    if output_format == "json":
        click.echo(json.dumps(results, indent=2))
        return
    table = Table(title="Sync")
    for column in ("tenant", "stream", "pages", "records", "written", "quarantined"):
        table.add_column(column, justify="right" if column not in ("tenant", "stream") else "left")
    for result in results:
        for stream, stats in result["streams"].items():
            table.add_row(result["tenant"], stream, *(f"{stats.get(k, 0):,}" for k in ("pages", "records", "written",
                                                                                      "quarantined")))
        err_console.print(f"{result['tenant']}: {result['api_calls']} API calls")
    console().print(table)


@click.command()
@click.option("--tenant", "tenants", multiple=True, help="Tenant (default: every one, ledgers included).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def status(ctx: click.Context, tenants: tuple[str, ...], output_format: str) -> None:
    """Per tenant (connected platforms and ledger files): last sync, last run, bookmarks, rate-limit state,
    outbox backlog, quarantined records, last error."""
    runtime = open_runtime(ctx)
    store = runtime.store
    records = {record["tenant"]: record for record in store.tenants.connected_tenants()}
    rows: list[dict[str, Any]] = []
    for name in sorted(set(records) | set(store.ledger.tenants())):
        if tenants and name not in tenants:
            continue
        record = records.get(name)
        platform = record["platform"] if record else _platform_of(name)
        spec = platforms().get(platform)
        last_run = next(iter(store.runs.last_runs(name, 1)), None)
        rows.append({
            "tenant": name,
            "platform": platform,
            "last_sync_at": record["last_sync_at"].isoformat() if record and record["last_sync_at"] else None,
            "last_run": {k: last_run[k] for k in ("as_of", "status", "started_at")} if last_run else None,
            "last_error": record["last_error"] if record else None,
            "bookmarks": {k: _bookmark(v) for k, v in store.sync.bookmarks(name).items()},
            "rate_limit_left": runtime.limiter.state(name, spec.limits) if spec and spec.limits else {},
            "outbox": store.outbox.outbox_counts(name),
            "quarantined": len(store.sync.quarantined(name)),
        })
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Tenants")
    for column in ("tenant", "last sync", "last run", "streams", "outbox", "quarantined", "rate limits",
                   "last error"):
        table.add_column(column)
    for row in rows:
        streams = ", ".join(
            f"{k}: {'done' if v.get('done') else v.get('position', v.get('since', 'imported'))}"
            for k, v in row["bookmarks"].items()
        )
        run = row["last_run"]
        table.add_row(row["tenant"], row["last_sync_at"] or "never",
                      f"{run['as_of'][:10]} {run['status']}" if run else "never", streams,
                      ", ".join(f"{k} {v}" for k, v in row["outbox"].items()) or "empty", str(row["quarantined"]),
                      ", ".join(f"{k}: {v:g}" for k, v in row["rate_limit_left"].items()), row["last_error"] or "")
    console().print(table)


def _platform_of(tenant: str) -> str:
    try:
        return spec_of_tenant(tenant).name
    except ConfigurationError:
        return "unknown"


def _bookmark(value: str) -> dict[str, Any]:
    """A stream's bookmark for display (a ledger's is the file's digest, not JSON)."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return {"digest": value[:12]}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


# --------------------------------------------------------------------------------------
# worker, beat, webhooks, secret-key
# --------------------------------------------------------------------------------------


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", default=2, show_default=True)
@click.pass_context
def worker(ctx: click.Context, concurrency: int) -> None:
    """Start a Celery worker on every queue (extra arguments go to `celery worker`)."""
    from .worker import QUEUE_ACT, QUEUE_SYNC, QUEUE_WEBHOOKS, app

    app.worker_main(["worker", f"--concurrency={concurrency}", "-Q", f"{QUEUE_SYNC},{QUEUE_ACT},{QUEUE_WEBHOOKS}",
                     *ctx.args])


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def beat(ctx: click.Context) -> None:
    """Start Celery beat: a sync of every tenant every 15 minutes and the daily plan-and-act."""
    from .worker import app

    app.start(["beat", *ctx.args])


@click.command("webhooks")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface (put a TLS proxy in front).")
@click.option("--port", default=8780, show_default=True)
@click.pass_context
def webhooks(ctx: click.Context, host: str, port: int) -> None:
    """Receive platform webhooks (POST /webhooks/<platform>): verified, stored, then a sync is enqueued."""
    import os

    from .common.webhooks import WebhookApp, serve
    from .pipeline import sync_after_webhook

    runtime = open_runtime(ctx)
    if os.environ.get("ODOO_COLLECTIONS_BROKER_URL") or os.environ.get("ODOO_COLLECTIONS_REDIS_URL"):
        from .worker import handle_webhook

        def enqueue(tenant: str) -> None:
            handle_webhook.delay(tenant)
    else:  # the embedded default: sync in this process, beside the server

        def work(tenant: str) -> None:
            try:
                sync_after_webhook(runtime, open_platform(runtime, tenant))
            except ConnectorError as err:
                err_console.print(f"{tenant}: sync after webhook failed: {err}")

        def enqueue(tenant: str) -> None:
            threading.Thread(target=work, args=(tenant,), daemon=True).start()

    serve(WebhookApp(runtime.store, webhook_routes(), enqueue), host, port)


@click.command("secret-key")
def secret_key() -> None:
    """Print a new key for ODOO_COLLECTIONS_SECRET_KEY (tokens are encrypted with it)."""
    click.echo(Cipher.generate_key())


def register(group: click.Group) -> None:
    """Add the platform commands to the main command group."""
    for command in (connect, sync, status, worker, beat, webhooks, secret_key):
        group.add_command(command)
