"""Commands for connected platforms: connect, sync, act, status, worker, beat, secret-key.

Registered on the ``odoo-collections`` group by ``connectors.cli``. Every command that prints a
table also takes ``--format json``; ``act`` takes ``--as-of``. Exit codes: 0 success, 1 unexpected
error, 2 usage error, 3 invalid policy, 5 unreadable input, 6 not connected or authorization refused,
7 the platform or the network failed (retry later), 8 another worker holds the tenant.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
import webbrowser
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from .common.errors import AuthorizationError, ConfigurationError, ConnectorError, LockedError
from .common.runtime import Runtime
from .common.secrets import secret_from_env
from .common.serialize import to_jsonable
from .common.tokens import Cipher, TokenStore

EXIT_AUTH = 6
EXIT_PLATFORM = 7
EXIT_LOCKED = 8
err_console = Console(stderr=True)


class PlatformFailure(click.ClickException):
    """A connector error with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def failure(err: ConnectorError) -> PlatformFailure:
    """The exit code that says why a platform command failed."""
    if isinstance(err, (AuthorizationError, ConfigurationError)):
        return PlatformFailure(str(err), EXIT_AUTH)
    if isinstance(err, LockedError):
        return PlatformFailure(f"{err}: another worker is busy with this tenant, try again later", EXIT_LOCKED)
    return PlatformFailure(str(err), EXIT_PLATFORM)


def runtime_of(ctx: click.Context) -> Runtime:
    """The runtime on the store chosen with --store (or the environment)."""
    return Runtime.from_env(store_url=ctx.obj.get("store_url") if ctx.obj else None)


# --------------------------------------------------------------------------------------
# connect
# --------------------------------------------------------------------------------------


def wait_for_callback(port: int, state: str, timeout: float, ready: Callable[[], None]) -> dict[str, str]:
    """Serve the OAuth redirect on 127.0.0.1:port once; check the state in constant time."""
    received: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            good = hmac.compare_digest(query.get("state", ""), state) and "code" in query
            if good:
                received.update(query)
            self.send_response(200 if good else 400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            message = "Connected: you can close this window." if good else "Invalid or expired authorization."
            self.wfile.write(message.encode())

        def log_message(self, format: str, *args: Any) -> None:  # never log the code
            return

    server = HTTPServer(("127.0.0.1", port), Callback)
    server.timeout = timeout
    ready()
    try:
        server.handle_request()
    finally:
        server.server_close()
    if not received:
        raise AuthorizationError("no valid authorization came back (timed out, refused or a wrong state)")
    return received


@click.group()
def connect() -> None:
    """Connect a company of an accounting platform (OAuth authorization-code flow)."""


@connect.command("quickbooks")
@click.option("--client-id", envvar="QUICKBOOKS_CLIENT_ID", required=True, help="The Intuit app's client id.")
@click.option("--environment", default="production", show_default=True,
              help="production, sandbox, or the URL of an OpenID discovery document.")
@click.option("--api-base", help="Base URL of the data API (default: Intuit's for the environment).")
@click.option("--port", default=8765, show_default=True, help="Local port of the OAuth redirect.")
@click.option("--currency", default="USD", show_default=True, help="The company's home currency.")
@click.option("--no-browser", is_flag=True, help="Print the authorization URL instead of opening a browser.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the authorization.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def connect_quickbooks(
    ctx: click.Context, client_id: str, environment: str, api_base: str | None, port: int, currency: str,
    no_browser: bool, timeout: float, output_format: str,
) -> None:
    """Authorize access to a QuickBooks Online company and store its encrypted tokens."""
    from intuitlib.enums import Scopes

    from .quickbooks.client import auth_client, token_from_auth_client
    from .quickbooks.settings import CLIENT_SECRET_VARIABLE, QuickBooksSettings

    try:
        secret = secret_from_env(CLIENT_SECRET_VARIABLE, "the QuickBooks app's client secret")
        redirect = f"http://127.0.0.1:{port}/callback"
        draft = QuickBooksSettings(realm_id="pending", client_id=client_id, client_secret=secret,
                                   environment=environment, api_base=api_base, redirect_uri=redirect)
        client = auth_client(draft)
        state = secrets.token_urlsafe(24)
        url = client.get_authorization_url([Scopes.ACCOUNTING], state_token=state)

        def show() -> None:
            err_console.print(f"Authorize the connection in your browser:\n{url}")
            if not no_browser:
                webbrowser.open(url)

        answer = wait_for_callback(port, state, timeout, show)
        client.get_bearer_token(answer["code"], realm_id=answer.get("realmId"))
        settings = QuickBooksSettings(realm_id=str(answer["realmId"]), client_id=client_id, client_secret=secret,
                                      environment=environment, api_base=api_base, redirect_uri=redirect,
                                      home_currency=currency.upper())
        runtime = runtime_of(ctx)
        runtime.store.save_tenant(settings.tenant, "quickbooks", settings.to_record())
        TokenStore(runtime.store, runtime.cipher).save(settings.tenant,
                                                       token_from_auth_client(client, runtime.clock()))
    except ConnectorError as err:
        raise failure(err) from err
    _print({"tenant": settings.tenant, "connected": True}, output_format, f"Connected {settings.tenant}")


# --------------------------------------------------------------------------------------
# sync, act, status
# --------------------------------------------------------------------------------------


def _console() -> Console:
    """A console for tables: the terminal's width, or wide enough not to fold when piped."""
    from .cli import _console as console

    return console()


def _print(payload: dict[str, Any], output_format: str, headline: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(to_jsonable(payload), indent=2, ensure_ascii=False))
        return
    table = Table(title=headline)
    table.add_column("")
    table.add_column("")
    for name, value in payload.items():
        table.add_row(str(name), json.dumps(to_jsonable(value)) if isinstance(value, (dict, list)) else str(value))
    _console().print(table)


@click.command()
@click.option("--tenant", "tenants", multiple=True, help="Connected tenant (default: every one).")
@click.option("--full", is_flag=True, help="Read everything again instead of the changes since the last sync.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def sync(ctx: click.Context, tenants: tuple[str, ...], full: bool, output_format: str) -> None:
    """Sync connected tenants in this process (the embedded default; workers do the same with Celery)."""
    from .common.service import sync_tenant
    from .platforms import open_platform

    runtime = runtime_of(ctx)
    names = list(tenants) or [t["tenant"] for t in runtime.store.connected_tenants()]
    if not names:
        raise PlatformFailure("no connected tenant: run `odoo-collections connect quickbooks` first", EXIT_AUTH)
    results = []
    show = output_format == "table" and sys.stderr.isatty()
    for name in names:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console,
                      transient=True, disable=not show) as progress:
            task = progress.add_task(f"{name}: syncing")

            def on_page(stream: str, stats: Any, task: Any = task, name: str = name) -> None:
                progress.update(task, description=f"{name}: {stream} {stats.records:,} records")

            try:
                results.append(sync_tenant(runtime, open_platform(runtime, name), full=full, on_page=on_page))
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
            table.add_row(result["tenant"], stream, *(f"{stats[k]:,}" for k in ("pages", "records", "written",
                                                                                 "quarantined")))
        err_console.print(f"{result['tenant']}: {result['api_calls']} API calls")
    _console().print(table)


@click.command()
@click.option("--tenant", required=True, help="Connected tenant, e.g. quickbooks:9130350000000001.")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of_text", help="Date (YYYY-MM-DD) or ISO datetime to plan for; default now.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def act(ctx: click.Context, tenant: str, policy_path: Path | None, as_of_text: str | None, output_format: str) -> None:
    """Plan a connected tenant and push its due actions to the platform (reminders, notes, fields)."""
    from .cli import load_policy, parse_as_of
    from .common.service import plan_and_act
    from .platforms import open_platform

    policy = load_policy(policy_path)
    as_of = parse_as_of(as_of_text, datetime.now(timezone.utc).replace(microsecond=0))
    runtime = runtime_of(ctx)
    try:
        result = plan_and_act(runtime, open_platform(runtime, tenant), policy, as_of)
    except ConnectorError as err:
        raise failure(err) from err
    _print(result, output_format, f"{tenant} as of {as_of.isoformat()}")


@click.command()
@click.option("--tenant", "tenants", multiple=True, help="Connected tenant (default: every one).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def status(ctx: click.Context, tenants: tuple[str, ...], output_format: str) -> None:
    """Per tenant: last sync, bookmarks, rate-limit state, outbox backlog, quarantined records, last error."""
    from .platforms import platform_class

    runtime = runtime_of(ctx)
    rows = []
    for record in runtime.store.connected_tenants():
        if tenants and record["tenant"] not in tenants:
            continue
        name = record["tenant"]
        try:
            limits = platform_class(record["platform"]).limits
        except ConfigurationError as err:
            raise failure(err) from err
        rows.append({
            "tenant": name,
            "platform": record["platform"],
            "last_sync_at": record["last_sync_at"].isoformat() if record["last_sync_at"] else None,
            "last_error": record["last_error"],
            "bookmarks": {k: json.loads(v) for k, v in runtime.store.bookmarks(name).items()},
            "rate_limit_tokens": runtime.limiter.state(name, limits) if limits else {},
            "outbox": runtime.store.outbox_counts(name),
            "quarantined": len(runtime.store.quarantined(name)),
        })
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Connected tenants")
    for column in ("tenant", "last sync", "streams", "outbox", "quarantined", "rate limits", "last error"):
        table.add_column(column)
    for row in rows:
        streams = ", ".join(
            f"{k}: {'done' if v.get('done') else v.get('position', v.get('since', '?'))}"
            for k, v in row["bookmarks"].items()
        )
        table.add_row(row["tenant"], row["last_sync_at"] or "never", streams,
                      ", ".join(f"{k} {v}" for k, v in row["outbox"].items()) or "empty", str(row["quarantined"]),
                      ", ".join(f"{k}: {v:g}" for k, v in row["rate_limit_tokens"].items()), row["last_error"] or "")
    _console().print(table)


# --------------------------------------------------------------------------------------
# worker, beat, secret-key
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
    """Receive platform webhooks (POST /webhooks/quickbooks): verified, stored, then a sync is enqueued."""
    import os

    from .common.service import sync_tenant
    from .common.webhooks import WebhookApp, serve
    from .platforms import open_platform
    from .quickbooks.webhooks import QuickBooksWebhooks

    runtime = runtime_of(ctx)
    if os.environ.get("ODOO_COLLECTIONS_BROKER_URL") or os.environ.get("ODOO_COLLECTIONS_REDIS_URL"):
        from .worker import handle_webhook

        def enqueue(tenant: str) -> None:
            handle_webhook.delay(tenant)
    else:  # the embedded default: sync in this process, beside the server

        def work(tenant: str) -> None:
            try:
                pending = [e["id"] for e in runtime.store.webhook_events(tenant=tenant, status="received")]
                sync_tenant(runtime, open_platform(runtime, tenant))
                runtime.store.set_webhook_status(pending, "handled")
            except ConnectorError as err:
                err_console.print(f"{tenant}: sync after webhook failed: {err}")

        def enqueue(tenant: str) -> None:
            threading.Thread(target=work, args=(tenant,), daemon=True).start()

    serve(WebhookApp(runtime.store, {"/webhooks/quickbooks": QuickBooksWebhooks()}, enqueue), host, port)


@click.command("secret-key")
def secret_key() -> None:
    """Print a new key for ODOO_COLLECTIONS_SECRET_KEY (tokens are encrypted with it)."""
    click.echo(Cipher.generate_key())


def register(group: click.Group) -> None:
    """Add the platform commands to the main command group."""
    for command in (connect, sync, act, status, worker, beat, webhooks, secret_key):
        group.add_command(command)

