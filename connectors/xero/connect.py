"""``odoo-collections connect xero``: the OAuth 2.0 authorization-code flow with a local redirect.

One consent may cover several organisations: each becomes a tenant (``xero:<tenantId>``), and
they share one token set, saved once under the connection's key.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
import webbrowser
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import click

from ..cli_common import err_console, failure, open_runtime, print_payload, wait_for_callback
from ..common.errors import AuthorizationError, ConnectorError, RetryableError
from ..common.secrets import Secret, secret_from_env
from ..common.tokens import OAuthToken, TokenStore
from .client import XeroClient, refresher
from .settings import (
    API_BASE,
    AUTHORIZE_URL,
    CLIENT_SECRET_VARIABLE,
    CONNECTIONS_BASE,
    PLATFORM,
    SCOPES,
    TOKEN_URL,
    XeroSettings,
)


def exchange_code(token_url: str, client_id: str, secret: Secret, code: str, redirect: str) -> OAuthToken:
    """Trade an authorization code for the first token set."""
    import urllib3

    basic = base64.b64encode(f"{client_id}:{secret.reveal()}".encode()).decode()
    try:
        response = urllib3.PoolManager(retries=False).request(
            "POST", token_url, encode_multipart=False, headers={"Authorization": f"Basic {basic}"},
            fields={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        )
    except urllib3.exceptions.HTTPError as err:
        raise RetryableError(f"the token endpoint cannot be reached: {type(err).__name__}") from None
    if response.status != 200:
        raise AuthorizationError(f"Xero refused the authorization code (HTTP {response.status})")
    return OAuthToken.from_response(json.loads(response.data), datetime.now(timezone.utc))


@click.command(PLATFORM)
@click.option("--client-id", envvar="XERO_CLIENT_ID", required=True, help="The Xero app's client id.")
@click.option("--port", default=8766, show_default=True, help="Local port of the OAuth redirect.")
@click.option("--authorize-url", default=AUTHORIZE_URL, show_default=True, help="Xero's consent page.")
@click.option("--token-url", default=TOKEN_URL, show_default=True, help="Xero's token endpoint.")
@click.option("--api-base", default=API_BASE, show_default=True, help="Base URL of the Accounting API.")
@click.option("--connections-base", default=CONNECTIONS_BASE, show_default=True,
              help="Base URL of the connections endpoint.")
@click.option("--no-browser", is_flag=True, help="Print the authorization URL instead of opening a browser.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the authorization.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def connect_xero(
    ctx: click.Context, client_id: str, port: int, authorize_url: str, token_url: str, api_base: str,
    connections_base: str, no_browser: bool, timeout: float, output_format: str,
) -> None:
    """Authorize access to Xero organisations and store their (shared, encrypted) tokens."""
    try:
        secret = secret_from_env(CLIENT_SECRET_VARIABLE, "the Xero app's client secret")
        redirect = f"http://127.0.0.1:{port}/callback"
        state = secrets.token_urlsafe(24)
        query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
                 "scope": " ".join(SCOPES), "state": state}
        url = f"{authorize_url}?{urlencode(query)}"

        def show() -> None:
            err_console.print(f"Authorize the connection in your browser:\n{url}")
            if not no_browser:
                webbrowser.open(url)

        answer = wait_for_callback(port, state, timeout, show)
        token = exchange_code(token_url, client_id, secret, answer["code"], redirect)
        runtime = open_runtime(ctx)
        common: dict[str, Any] = {"connection": uuid.uuid4().hex, "client_id": client_id, "client_secret": secret,
                                  "api_base": api_base, "connections_base": connections_base, "token_url": token_url}
        draft = XeroSettings(tenant_id="pending", **common)
        TokenStore(runtime.store, runtime.cipher).save(draft.token_key, token)
        tokens = runtime.token_manager(refresher(draft, runtime.clock))
        tenants = []
        for connection in XeroClient(draft, tokens, runtime.limiter).connections():
            if connection.get("tenantType") != "ORGANISATION" or not connection.get("tenantId"):
                continue
            named = XeroSettings(tenant_id=str(connection["tenantId"]), tenant_name=str(connection.get("tenantName")
                                 or ""), **common)
            organisation = XeroClient(named, tokens, runtime.limiter).organisation()
            settings = XeroSettings(tenant_id=named.tenant_id, tenant_name=named.tenant_name,
                                    home_currency=str(organisation.get("BaseCurrency") or "USD").upper(), **common)
            runtime.store.tenants.save_tenant(settings.tenant, PLATFORM, settings.to_record())
            tenants.append(settings.tenant)
        if not tenants:
            raise AuthorizationError("the authorization covers no Xero organisation")
    except ConnectorError as err:
        raise failure(err) from err
    print_payload({"tenants": tenants, "connected": True}, output_format, f"Connected {', '.join(tenants)}")
