"""Talks to QuickBooks Online through python-quickbooks and intuit-oauth, and nothing else.

The SDK hides HTTP status codes (a 429 arrives as an XML body it cannot parse, or as a JSON
fault code 3001) and never refreshes a token on 401. This client therefore watches every
response through a ``requests`` hook to know the real status and ``Retry-After``, turns SDK
exceptions into the connectors' errors, and runs each call under the shared retry policy and
the tenant's rate limits; a 401 refreshes the token once, under the tenant's lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import requests

from ..common.calls import ApiCalls
from ..common.errors import (
    AuthExpiredError,
    AuthorizationError,
    RateLimitedError,
    RetryableError,
    VendorError,
)
from ..common.ratelimit import RateLimiter
from ..common.retry import RetryPolicy, error_for_status, parse_retry_after
from ..common.secrets import mask_secrets
from ..common.tokens import OAuthToken, TokenManager
from .settings import LIMITS, QuickBooksSettings

T = TypeVar("T")
_logger = logging.getLogger(__name__)
# requests-oauthlib logs the whole token at DEBUG ("Adding token {...} to request"): never let it.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)
THROTTLE_CODES = {"3001", "003001"}


def _enable_local_http(settings: QuickBooksSettings) -> None:
    """oauthlib refuses plain http; allow it only for servers on this machine (tests, local fakes)."""
    base = settings.data_api_base
    if base.startswith("http://127.0.0.1") or base.startswith("http://localhost"):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def auth_client(settings: QuickBooksSettings, **tokens: str | None) -> Any:
    """intuit-oauth's AuthClient (it reads the discovery document of ``settings.environment`` at once)."""
    from intuitlib.client import AuthClient

    return AuthClient(
        client_id=settings.client_id,
        client_secret=settings.client_secret.reveal(),
        redirect_uri=settings.redirect_uri,
        environment=settings.discovery,
        realm_id=settings.realm_id,
        **tokens,
    )


def refresher(settings: QuickBooksSettings, clock: Callable[[], datetime]) -> Callable[[OAuthToken], OAuthToken]:
    """The TokenManager's refresh function: one call to Intuit's token endpoint."""

    def refresh(token: OAuthToken) -> OAuthToken:
        from intuitlib.exceptions import AuthClientError

        client = auth_client(settings)
        try:
            client.refresh(refresh_token=token.refresh_token)
        except AuthClientError as err:
            if err.status_code in (400, 401):
                raise AuthorizationError(
                    f"{settings.tenant}: Intuit refused the refresh token ({err.status_code}); "
                    "connect the company again"
                ) from err
            raise error_for_status(err.status_code, f"token refresh failed with HTTP {err.status_code}") from err
        except requests.RequestException as err:
            raise RetryableError(f"token refresh failed: {type(err).__name__}") from err
        return token_from_auth_client(client, clock())

    return refresh


def token_from_auth_client(client: Any, now: datetime) -> OAuthToken:
    """The token an AuthClient holds after a code exchange or a refresh."""
    return OAuthToken.from_response(
        {
            "access_token": client.access_token,
            "refresh_token": client.refresh_token,
            "expires_in": client.expires_in,
            "x_refresh_token_expires_in": client.x_refresh_token_expires_in,
        },
        now,
        realm_id=str(client.realm_id or ""),
    )


class QuickBooksClient:
    """One QuickBooks company: queries, CDC, reads, sparse updates, sends; retried and rate limited."""

    def __init__(
        self,
        settings: QuickBooksSettings,
        tokens: TokenManager,
        limiter: RateLimiter,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        _enable_local_http(settings)
        self.settings = settings
        self._tokens = tokens
        self._local = threading.local()
        self._token: OAuthToken | None = None
        self._session_token: OAuthToken | None = None
        self._qb: Any = None
        self._calls = ApiCalls(limiter, [(settings.tenant, LIMITS)], translate=self._translate, refresh=self._refresh,
                               policy=policy, sleep=sleep)

    # -- plumbing ----------------------------------------------------------------------------

    def _client(self) -> Any:
        from quickbooks import QuickBooks
        from requests_oauthlib import OAuth2Session

        if self._token is None:
            self._token = self._tokens.current(self.settings.tenant)
        token = self._token
        if self._qb is None or self._session_token is not token:
            self._session_token = token
            qb = QuickBooks(company_id=self.settings.realm_id, minorversion=self.settings.minorversion)
            qb.api_url_v3 = f"{self.settings.data_api_base}/v3"
            qb.sandbox = False
            session = OAuth2Session(self.settings.client_id, token={"access_token": token.access_token})
            session.hooks["response"].append(self._remember_response)
            timeout = self.settings.timeout
            plain_request = session.request
            session.request = lambda method, url, **kw: plain_request(method, url, timeout=timeout, **kw)
            qb.session = session
            self._qb = qb
        return self._qb

    def _remember_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.status = response.status_code
        self._local.retry_after = parse_retry_after(response.headers.get("Retry-After"))

    def _refresh(self) -> None:
        self._token = self._tokens.refresh(self.settings.tenant, stale=self._token)

    def call(self, describe: str, operation: Callable[[Any], T]) -> T:
        """Run ``operation(qb)`` under the rate limits and the retry policy."""

        def attempt() -> T:
            self._local.status, self._local.retry_after = None, None
            return operation(self._client())

        return self._calls.call(describe, attempt)

    @property
    def calls(self) -> int:
        """Requests made so far (retries included)."""
        return self._calls.count

    def _translate(self, err: Exception, describe: str) -> Exception:
        from quickbooks.exceptions import QuickbooksException

        status = getattr(self._local, "status", None)
        retry_after = getattr(self._local, "retry_after", None)
        if isinstance(err, (requests.Timeout, requests.ConnectionError)):
            return RetryableError(f"{describe}: {type(err).__name__}")
        if not isinstance(err, QuickbooksException):
            return err
        code = str(err.error_code)
        access_token = self._token.access_token if self._token else None
        text = mask_secrets(f"{describe}: {err.message} {err.detail or ''}".strip(), access_token)
        if status == 429 or code in THROTTLE_CODES or "ThrottleExceeded" in text:
            return RateLimitedError(text, retry_after=retry_after, status=429)
        if status == 401 or code == "401":
            return AuthExpiredError(text)
        if status is not None and (status >= 500 or status == 408):
            return RetryableError(text, retry_after=retry_after, status=status)
        return VendorError(text, status=status, code=code)

    # -- API ---------------------------------------------------------------------------------

    def query(self, statement: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Run a query (``SELECT ... STARTPOSITION n MAXRESULTS m``), with extra query parameters such as
        ``include=invoiceLink``; return its QueryResponse."""
        extra = dict(params or {})
        result = self.call(f"query {statement[:60]!r}", lambda qb: qb.query(statement, params=dict(extra)))
        return dict(result.get("QueryResponse") or {})

    def change_data_capture(self, entities: list[str], since: datetime) -> dict[str, list[dict[str, Any]]]:
        """Objects of ``entities`` changed (or deleted) since an instant, by entity."""
        changed_since = since.astimezone(timezone.utc).isoformat(timespec="seconds")
        result = self.call("cdc", lambda qb: qb.change_data_capture(",".join(entities), changed_since))
        changes: dict[str, list[dict[str, Any]]] = {entity: [] for entity in entities}
        for block in result.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for entity in entities:
                    changes[entity].extend(response.get(entity) or [])
        return changes

    def read(self, entity: str, entity_id: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One object by id."""
        result = self.call(
            f"read {entity} {entity_id}", lambda qb: qb.get_single_object(entity, entity_id, params=dict(params or {}))
        )
        return dict(result[entity])

    def save(self, entity: str, body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        """Create or sparse-update an object; ``request_id`` makes a repeated call a no-op at Intuit."""
        import json

        text = json.dumps(body)
        result = self.call(
            f"save {entity}", lambda qb: qb.update_object(entity, text, request_id=request_id)
        )
        return dict(result[entity])

    def send_invoice(self, invoice_id: str, email: str | None) -> dict[str, Any]:
        """Email an invoice from QuickBooks (POST /invoice/{id}/send)."""
        from urllib.parse import quote

        endpoint = f"invoice/{invoice_id}/send" + (f"?sendTo={quote(email)}" if email else "")
        result = self.call(
            f"send invoice {invoice_id}",
            lambda qb: qb.misc_operation(endpoint, None, "application/octet-stream"),
        )
        return dict(result["Invoice"])
