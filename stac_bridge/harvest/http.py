"""The one HTTP client of every harvester: timeouts, retries and authentication, defined once.

A request is retried, with exponential backoff and jitter, when the connection fails or times out, when the
provider answers 429 or 5xx, and when a JSON answer is cut short; a ``Retry-After`` header is honoured. Other
4xx answers are not retried. Once the tries are spent the caller gets one of the typed errors of
:mod:`stac_bridge.errors`: :class:`RateLimitError` (429), :class:`AuthError` (401/403, never retried) or
:class:`ProviderError` (any other failure, with the status and the start of the body).

Authentication is an ``httpx.Auth``: :class:`BearerToken`, :class:`ApiKey` or :class:`OAuth2ClientCredentials`
(which fetches a token, refreshes it before it expires and once more on a 401). A client made for one API
(``create_client(private_to=...)``) sends its headers and credentials to that API's origin only: a link or a
redirect to another host gets neither.

The client is safe to share between threads (the engine fetches several pages at once).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Self

import httpx
import orjson
import tenacity

from stac_bridge import __version__
from stac_bridge.errors import AuthError, HarvestError, ProviderError, RateLimitError

__all__ = [
    "ApiKey",
    "BearerToken",
    "HttpClient",
    "HttpSource",
    "JsonResponse",
    "OAuth2ClientCredentials",
    "RetryPolicy",
    "create_client",
]

log = logging.getLogger(__name__)

#: How much of an error body goes into the exception message.
BODY_EXCERPT: Final = 200
USER_AGENT: Final = f"stac-bridge/{__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Attributes:
        attempts: Tries in all, the first included.
        backoff: The first wait in seconds; each further wait doubles, up to ``max_backoff``.
        max_backoff: The longest wait between two tries, in seconds.
        jitter: Up to this many seconds are added at random to each wait, so that clients spread out.
        max_retry_after: A ``Retry-After`` longer than this (seconds) is not waited for: the error is raised.
        retry_after_unit: Seconds per unit of a numeric ``Retry-After``: 1 as HTTP says, 0.001 for providers
            that send milliseconds (Sentinel Hub).
    """

    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 300.0
    retry_after_unit: float = 1.0


DEFAULT_RETRY: Final = RetryPolicy()


@dataclass(frozen=True)
class JsonResponse:
    """A successful answer whose body is JSON.

    Attributes:
        data: The parsed body.
        headers: The response headers (some protocols page through them, e.g. ``X-Continuation-Token``).
        url: The URL that answered, after redirects.
        status: The HTTP status.
    """

    data: Any
    headers: httpx.Headers
    url: str
    status: int


class _Transient(Exception):
    """A failure worth another try; ``error`` is what the caller gets once the tries are spent."""

    def __init__(self, error: HarvestError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


# --- authentication -----------------------------------------------------------------------------------------


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request (Descartes Labs JWTs, Capella tokens)."""

    def __init__(self, token: str) -> None:
        self._value = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header."""
        request.headers["Authorization"] = self._value
        yield request


class ApiKey(httpx.Auth):
    """An API key in a header: by default ``Authorization: ApiKey <key>`` (Capella).

    Args:
        key: The key.
        header: The header that carries it.
        scheme: Written before the key, separated by a space; ``""`` sends the key alone.
    """

    def __init__(self, key: str, *, header: str = "Authorization", scheme: str = "ApiKey") -> None:
        self._header = header
        self._value = f"{scheme} {key}" if scheme else key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header."""
        request.headers[self._header] = self._value
        yield request


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client credentials (Sentinel Hub): a bearer token fetched from ``token_url`` and refreshed.

    The token is fetched on the first request, fetched again ``margin`` seconds before it expires, and once
    more when the provider answers 401 anyway (a token revoked early). Threads share one token.

    Args:
        token_url: The token endpoint, e.g. ``https://services.sentinel-hub.com/oauth/token``.
        client_id: The OAuth client id.
        client_secret: The OAuth client secret.
        scope: The scope to ask for, if the provider wants one.
        margin: Seconds before the announced expiry at which the token counts as expired.
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        margin: float = 30.0,
    ) -> None:
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        if scope:
            self._form["scope"] = scope
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Fetch or refresh the token when needed, add it, and refresh it once on a 401."""
        token = self._current()
        if token is None:
            token = self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _current(self) -> str | None:
        with self._lock:
            return self._token if time.monotonic() < self._expires else None

    def _token_request(self) -> httpx.Request:
        return httpx.Request("POST", self._token_url, data=self._form, headers={"Accept": "application/json"})

    def _store(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in (400, 401, 403):
            raise AuthError(f"the token endpoint {self._token_url} refused the credentials (HTTP {status})")
        if status == 429 or status >= 500:
            raise _Transient(ProviderError(f"the token endpoint {self._token_url} failed", status=status,
                                           body=response.text[:BODY_EXCERPT]), _retry_after(response))
        try:
            payload = response.json()
            token = str(payload["access_token"])
            lifetime = float(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"the token endpoint {self._token_url} sent no access_token", status=status,
                                body=response.text[:BODY_EXCERPT]) from exc
        with self._lock:
            self._token = token
            self._expires = time.monotonic() + max(lifetime - self._margin, 0.0)
        return token


# --- the client ---------------------------------------------------------------------------------------------


class _Closing:
    """``with`` closes the object on exit (its ``close`` says what that means)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError


class HttpClient(_Closing):
    """An ``httpx.Client`` whose requests are retried and whose failures are typed.

    Make one with :func:`create_client`. Use it as a context manager, or call :meth:`close`.

    Attributes:
        retry: The retry policy of every request.
    """

    def __init__(self, client: httpx.Client, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self.retry = retry

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request, retrying as the policy says; the answer's body is read.

        Raises:
            RateLimitError: the provider still answered 429 after the last try.
            AuthError: the provider answered 401 or 403.
            ProviderError: any other error status or failed connection, after the last try where retried.
        """
        response: httpx.Response = self._retrying()(self._send, method, url, params, json, headers)
        return response

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonResponse:
        """Like :meth:`request`, for a JSON answer: a body that does not parse (cut short) is tried again.

        Raises:
            RateLimitError: see :meth:`request`.
            AuthError: see :meth:`request`.
            ProviderError: see :meth:`request`; also when the body is still not JSON after the last try.
        """
        result: JsonResponse = self._retrying()(self._send_json, method, url, params, json, headers)
        return result

    def _retrying(self) -> tenacity.Retrying:
        policy = self.retry
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.attempts) | _RetryAfterTooLong(policy.max_retry_after),
            wait=_Wait(policy),
            retry=tenacity.retry_if_exception_type(_Transient),
            retry_error_callback=_give_up,
            before_sleep=_log_retry,
        )

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        what = f"{method} {url}"
        try:
            response = self._client.request(method, url, params=params, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise _Transient(ProviderError(f"{what} timed out ({type(exc).__name__})")) from exc
        except httpx.RequestError as exc:
            raise _Transient(ProviderError(f"{what} failed: {type(exc).__name__}: {exc}")) from exc
        status = response.status_code
        if status == 429:
            raise _Transient(RateLimitError(f"{what}: rate limited (HTTP 429)"), self._retry_after(response))
        if status in (401, 403):
            raise AuthError(f"{what}: credentials refused (HTTP {status}): {response.text[:BODY_EXCERPT]}")
        if status >= 500:
            error = ProviderError(f"{what} failed", status=status, body=response.text[:BODY_EXCERPT])
            raise _Transient(error, self._retry_after(response))
        if status >= 400:
            raise ProviderError(f"{what} was refused", status=status, body=response.text[:BODY_EXCERPT])
        return response

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After", "")
        seconds = _retry_after(response)
        if seconds is not None and value.strip().replace(".", "", 1).isdigit():
            seconds *= self.retry.retry_after_unit
        return seconds

    def _send_json(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> JsonResponse:
        response = self._send(method, url, params, json, headers)
        status = response.status_code
        try:
            data = orjson.loads(response.content)
        except ValueError as exc:
            body = response.text[:BODY_EXCERPT]
            error = ProviderError(f"{method} {url} answered invalid JSON ({exc})", status=status, body=body)
            raise _Transient(error) from exc
        return JsonResponse(data, response.headers, str(response.url), status)


class HttpSource(_Closing):
    """What every HTTP harvest source shares: its :class:`HttpClient`, closed with the source.

    Subclasses set ``self.client``; a source used as a context manager closes it on exit. Paging is
    sequential unless the subclass overrides :meth:`following` (random access).
    """

    client: HttpClient

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def following(self, position: Any) -> Any | None:
        """Not known in advance (opaque tokens): the engine waits for each page's ``next``."""
        return None


def create_client(
    *,
    auth: httpx.Auth | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 10.0,
    retry: RetryPolicy = DEFAULT_RETRY,
    headers: Mapping[str, str] | None = None,
    max_connections: int = 32,
    private_to: str | None = None,
) -> HttpClient:
    """The HTTP client for one provider.

    Args:
        auth: How to authenticate (:class:`BearerToken`, :class:`ApiKey`, :class:`OAuth2ClientCredentials`),
            or ``None``.
        timeout: Seconds to wait for each read or write of a response; a slower answer counts as failed.
        connect_timeout: Seconds to wait for a connection.
        retry: When and how long to retry.
        headers: Sent with every request (a ``User-Agent`` naming stac-bridge is sent unless given here).
        max_connections: Connections open at once (the engine's concurrency needs as many).
        private_to: A URL: ``headers``, ``Authorization`` and ``Cookie`` are sent to its origin (scheme, host
            and port) only, and stripped from any request elsewhere, such as a ``next`` link or a redirect a
            provider points at another host. ``None``: sent everywhere (the provider's own hosts).
    """
    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    hooks: dict[str, list[Any]] = {}
    if private_to is not None:
        private = {name.lower() for name in (headers or {})} | {"authorization", "cookie"}
        hooks["request"] = [_OriginGuard(private_to, private - {"user-agent"})]
    client = httpx.Client(
        auth=auth,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers=merged,
        follow_redirects=True,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        event_hooks=hooks,
    )
    return HttpClient(client, retry)


class _OriginGuard:
    """A request hook (run for every request, redirects included) that strips private headers off-origin."""

    def __init__(self, url: str, private: set[str]) -> None:
        self._origin = _origin(httpx.URL(url))
        self._private = private

    def __call__(self, request: httpx.Request) -> None:
        if _origin(request.url) == self._origin:
            return
        stripped = [name for name in self._private if name in request.headers]
        for name in stripped:
            del request.headers[name]
        if stripped:
            log.warning("not sending %s to %s: another origin than %s", ", ".join(sorted(stripped)),
                        request.url.host, self._origin[1])


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


# --- retry helpers ------------------------------------------------------------------------------------------


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait according to ``Retry-After`` (delta-seconds or an HTTP date), if the answer has one."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _transient(state: tenacity.RetryCallState) -> _Transient | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc if isinstance(exc, _Transient) else None


class _Wait(tenacity.wait.wait_base):
    """``Retry-After`` when the provider sent one, else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = tenacity.wait_exponential_jitter(
            initial=policy.backoff, max=policy.max_backoff, jitter=policy.jitter
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = _transient(retry_state)
        if failure is not None and failure.retry_after is not None:
            return failure.retry_after
        return float(self._backoff(retry_state))


class _RetryAfterTooLong(tenacity.stop.stop_base):
    """Stop when the provider asks for a longer pause than we are willing to take."""

    def __init__(self, limit: float) -> None:
        self._limit = limit

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        failure = _transient(retry_state)
        return failure is not None and failure.retry_after is not None and failure.retry_after > self._limit


def _give_up(retry_state: tenacity.RetryCallState) -> Any:
    failure = _transient(retry_state)
    if failure is None:
        raise HarvestError("the request failed")
    raise failure.error from failure.__cause__


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    failure = _transient(retry_state)
    wait = retry_state.next_action.sleep if retry_state.next_action is not None else 0.0
    log.warning("%s; try %d failed, next in %.2fs", failure, retry_state.attempt_number, wait)
