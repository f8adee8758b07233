"""``odoo-collections connect quickbooks``: the OAuth authorization-code flow with a local redirect."""

from __future__ import annotations

import secrets
import webbrowser

import click

from ..cli_common import err_console, failure, open_runtime, print_payload, wait_for_callback
from ..common.errors import ConnectorError
from ..common.secrets import secret_from_env
from ..common.tokens import TokenStore
from .settings import CLIENT_SECRET_VARIABLE, PLATFORM, QuickBooksSettings


@click.command(PLATFORM)
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

    from .client import auth_client, token_from_auth_client

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
        runtime = open_runtime(ctx)
        runtime.store.tenants.save_tenant(settings.tenant, PLATFORM, settings.to_record())
        TokenStore(runtime.store, runtime.cipher).save(settings.tenant,
                                                       token_from_auth_client(client, runtime.clock()))
    except ConnectorError as err:
        raise failure(err) from err
    print_payload({"tenant": settings.tenant, "connected": True}, output_format, f"Connected {settings.tenant}")
