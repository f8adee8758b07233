"""Talks to Zoho Books (API v3) over httpx, and nothing else: there is no maintained Python SDK.

Every answer is ``{"code", "message", ...}``; ``code == 0`` is success. Zoho answers some failures
with HTTP 200 and a non-zero code, so the code decides, not the status: :func:`error_for` turns
each failure into the class the one retry policy understands - a refused token refreshes once
(:class:`AuthExpiredError`), an organisation this token no longer reaches asks to connect again
(:class:`AuthorizationError`), the minute's throttle is retried after ``Retry-After``
(:class:`RateLimitedError`), the plan's spent day is rescheduled, never waited for in-process
(:class:`QuotaExhaustedError`), an internal error or a 5xx is retried, anything else is the
vendor's message (:class:`VendorError`).

Each call is counted in the organisation's windows (100 a minute, the plan's day), so one
organisation's limits never hold another's; the ``X-Rate-Limit-*`` headers of the last answer are
kept. Refresh tokens do not rotate and Zoho grants at most 10 access tokens per refresh token in 10
minutes: refreshes happen under the connection's lock, after re-reading the stored token, so
workers share one access token instead of each asking for its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from ..common.calls import ApiCalls
from ..common.errors import (
    AuthorizationError,
    ConnectorError,
    QuotaExhaustedError,
    RateLimitedError,
    RetryableError,
)
from ..common.ratelimit import RateLimiter
from ..common.retry import RetryPolicy, error_for_status, parse_retry_after
from ..common.secrets import mask_secrets
from ..common.tokens import OAuthToken, TokenManager
from .settings import ZohoSettings

_logger = logging.getLogger(__name__)
DAY = 86400.0
TOKEN_THROTTLE_WAIT = 600.0  # Zoho's window of 10 access tokens per refresh token
AUTH_CODES = {14, 57}  # the token is invalid or expired
NOT_CONNECTED_CODES = {6041}  # this token does not reach the organisation any more
# Throttling: too many at once, in the minute, or in the plan's day. Published lists do not agree on
# which number is which, so the code only says "throttled": the day is spent when the answer says
# so (``X-Rate-Limit-Remaining: 0``, or a message about the day), otherwise it is the minute's.
THROTTLE_CODES = {43, 44, 45}
_DAY_WORDS = re.compile(r"\b(day|daily|24 hours)\b", re.IGNORECASE)
INTERNAL_CODES = {1000}


def error_for(status: int, code: int | None, message: str, headers: Mapping[str, str]) -> ConnectorError:
    """The retry policy's error for a Zoho failure (HTTP status, Zoho code, message, response headers)."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    text = f"HTTP {status} code {code}: {message}" if code is not None else f"HTTP {status}: {message}"
    throttled = code in THROTTLE_CODES or status == 429
    if throttled and (headers.get("x-rate-limit-remaining") == "0" or _DAY_WORDS.search(message)):
        reset = parse_retry_after(headers.get("x-rate-limit-reset"))
        return QuotaExhaustedError(f"{text} (daily limit)", retry_after=reset or retry_after or DAY, status=status)
    # Zoho's own codes say what a status would (some failures come with HTTP 200)
    if throttled:
        status = 429
    elif code in NOT_CONNECTED_CODES:
        status = 403
    elif code in AUTH_CODES:
        status = 401
    elif code in INTERNAL_CODES:
        status = 500
    return error_for_status(status, text, retry_after=retry_after, code=str(code) if code is not None else None)


def refresher(settings: ZohoSettings, clock: Callable[[], datetime],
              transport: httpx.BaseTransport | None = None) -> Callable[[OAuthToken], OAuthToken]:
    """The TokenManager's refresh function: one call to the data centre's token endpoint."""

    def refresh(token: OAuthToken) -> OAuthToken:
        form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token,
                "client_id": settings.client_id, "client_secret": settings.client_secret.reveal()}
        payload = token_request(f"{settings.accounts_url}/oauth/v2/token", form, transport)
        if "access_token" not in payload:
            error = str(payload.get("error") or "no access token")
            if error.lower() == "access denied":  # 10 access tokens per refresh token in 10 minutes
                raise RateLimitedError("Zoho refused a new access token for now (too many in 10 minutes)",
                                       retry_after=TOKEN_THROTTLE_WAIT)
            raise AuthorizationError(
                f"{settings.tenant}: Zoho refused the refresh token ({error}); connect the organisation again")
        extra = {"api_domain": str(payload["api_domain"])} if payload.get("api_domain") else {}
        return OAuthToken(access_token=str(payload["access_token"]), refresh_token=token.refresh_token,
                          expires_at=clock() + timedelta(seconds=int(payload.get("expires_in") or 3600)),
                          extra=extra)

    return refresh


def token_request(url: str, form: Mapping[str, str], transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """POST to Zoho's token endpoint; its JSON answer (errors come as ``{"error": ...}``, often with HTTP 200)."""
    try:
        with httpx.Client(timeout=30.0, transport=transport) as http:
            response = http.post(url, data=dict(form))
    except httpx.HTTPError as err:
        raise RetryableError(f"the Zoho token endpoint cannot be reached: {type(err).__name__}") from None
    if response.status_code >= 500:
        raise RetryableError(f"the Zoho token endpoint failed with HTTP {response.status_code}",
                             status=response.status_code)
    try:
        payload = response.json()
    except ValueError:
        raise RetryableError(f"the Zoho token endpoint answered HTTP {response.status_code} without JSON") from None
    return payload if isinstance(payload, dict) else {}


class ZohoClient:
    """One Zoho Books organisation: paged reads and the writes a collections connector makes."""

    def __init__(
        self,
        settings: ZohoSettings,
        tokens: TokenManager,
        limiter: RateLimiter,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._tokens = tokens
        self._token: OAuthToken | None = None
        self._http = httpx.Client(timeout=settings.timeout, transport=transport)
        self.limit_state: dict[str, str] = {}
        self._calls = ApiCalls(limiter, [(settings.tenant, settings.limits)], translate=self._translate,
                               refresh=self._refresh, policy=policy, sleep=sleep)

    @property
    def calls(self) -> int:
        """Requests made so far (retries included)."""
        return self._calls.count

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _access_token(self) -> str:
        if self._token is None:
            self._token = self._tokens.current(self.settings.token_key)
        return self._token.access_token

    def _refresh(self) -> None:
        self._token = self._tokens.refresh(self.settings.token_key, stale=self._token)

    def _translate(self, err: Exception, describe: str) -> Exception:
        if isinstance(err, ConnectorError):
            return err
        if isinstance(err, httpx.HTTPError):
            return RetryableError(f"{describe}: {type(err).__name__}")
        return err

    def _remember(self, headers: httpx.Headers) -> None:
        for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
            if name in headers:
                self.limit_state[name] = headers[name]

    def request(self, describe: str, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None) -> dict[str, Any]:
        """One API call (``path`` under ``/books/v3``) through the limits and the retry policy; its JSON answer."""

        def attempt() -> dict[str, Any]:
            query = {"organization_id": self.settings.organization_id, **(params or {})}
            headers = {"Authorization": f"Zoho-oauthtoken {self._access_token()}"}
            response = self._http.request(method, f"{self.settings.api_base}{path}", params=query, json=body,
                                          headers=headers)
            self._remember(response.headers)
            return self._answer(describe, response)

        return self._calls.call(describe, attempt)

    def _answer(self, describe: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            error = error_for(status if status >= 400 else 502, None, "the answer is not a JSON object",
                              response.headers)
            raise type(error)(f"{describe}: {error}") from None
        code = payload.get("code")
        if status < 400 and code in (0, None):
            return payload
        message = mask_secrets(str(payload.get("message") or ""), self._token.access_token if self._token else None)
        error = error_for(status, int(code) if isinstance(code, (int, float)) else None, message, response.headers)
        error.args = (f"{describe}: {error.args[0]}",)
        raise error

    # -- reads -------------------------------------------------------------------------------

    def list_page(self, collection: str, page: int, since: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """One page of a list (contacts, invoices, customerpayments, creditnotes) ordered by last change,
        from ``since`` (Zoho's time text) when given; and whether more pages follow."""
        params: dict[str, Any] = {"page": page, "per_page": self.settings.page_size,
                                  "sort_column": "last_modified_time", "sort_order": "A"}
        if since:
            params["last_modified_time"] = since
        payload = self.request(f"{collection} page {page}", "GET", f"/{collection}", params=params)
        records = payload.get(collection)
        if not isinstance(records, list):
            raise RetryableError(f"{collection} page {page}: the answer has no {collection} list")
        context = payload.get("page_context")
        more = bool(context.get("has_more_page")) if isinstance(context, dict) else False
        return records, more

    def get(self, collection: str, record_id: str) -> dict[str, Any]:
        """One record with everything (a contact's persons, a payment's applied invoices)."""
        key = {"contacts": "contact", "invoices": "invoice", "customerpayments": "payment",
               "creditnotes": "creditnote"}[collection]
        payload = self.request(f"{key} {record_id}", "GET", f"/{collection}/{record_id}")
        record = payload.get(key)
        if not isinstance(record, dict):
            raise RetryableError(f"{key} {record_id}: the answer has no {key}")
        return record

    def currencies(self) -> list[dict[str, Any]]:
        """The organisation's currencies with their exchange rates."""
        records = self.request("currencies", "GET", "/settings/currencies").get("currencies")
        return [dict(r) for r in records or [] if isinstance(r, dict)]

    def organizations(self) -> list[dict[str, Any]]:
        """The organisations this token reaches (``GET /organizations``, no organisation needed)."""

        def attempt() -> dict[str, Any]:
            headers = {"Authorization": f"Zoho-oauthtoken {self._access_token()}"}
            response = self._http.get(f"{self.settings.api_base}/organizations", headers=headers)
            return self._answer("organizations", response)

        records = self._calls.call("organizations", attempt).get("organizations")
        return [dict(r) for r in records or [] if isinstance(r, dict)]

    def comments(self, invoice_id: str) -> list[dict[str, Any]]:
        """An invoice's comments and history."""
        records = self.request(f"comments of invoice {invoice_id}", "GET", f"/invoices/{invoice_id}/comments"
                               ).get("comments")
        return [dict(r) for r in records or [] if isinstance(r, dict)]

    def contact_persons(self, contact_id: str) -> list[dict[str, Any]]:
        """A contact's persons, with their emails, mobiles and communication preferences."""
        records = self.request(f"contact persons of contact {contact_id}", "GET",
                               f"/contacts/{contact_id}/contactpersons").get("contact_persons")
        return [dict(r) for r in records or [] if isinstance(r, dict)]

    # -- writes ------------------------------------------------------------------------------

    def send_reminder(self, invoice_id: str, to: list[str] | None = None) -> None:
        """Have Zoho send its payment reminder for an invoice (to the contact, or to ``to``)."""
        body: dict[str, Any] = {"to_mail_ids": to} if to else {}
        self.request(f"payment reminder of invoice {invoice_id}", "POST", f"/invoices/{invoice_id}/paymentreminder",
                     body=body)

    def add_comment(self, invoice_id: str, text: str) -> None:
        """Add an internal comment to an invoice (never shown to the customer)."""
        self.request(f"comment on invoice {invoice_id}", "POST", f"/invoices/{invoice_id}/comments",
                     body={"description": text, "show_comment_to_clients": False})

    def set_custom_field(self, invoice_id: str, api_name: str, value: str) -> None:
        """Set one custom field of an invoice (a PUT: the same value twice is the same state)."""
        self.request(f"custom field of invoice {invoice_id}", "PUT", f"/invoices/{invoice_id}/customfields",
                     body={"custom_fields": [{"api_name": api_name, "value": value}]})
