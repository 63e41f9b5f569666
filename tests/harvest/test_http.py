"""The HTTP client against a real server on 127.0.0.1: retries, Retry-After, typed errors, auth hooks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stac_bridge.errors import AuthError, ProviderError, RateLimitError
from stac_bridge.harvest.http import (
    ApiKey,
    BearerToken,
    HttpClient,
    OAuth2ClientCredentials,
    RetryPolicy,
    create_client,
)
from tests.harvest.standin import Fault, StandIn
from tests.localhttp import JsonHandler, LocalHTTPServer, Served

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, jitter=0.01)


@pytest.fixture()
def standin() -> Iterator[StandIn]:
    with StandIn(count=20) as server:
        yield server


@pytest.fixture()
def client() -> Iterator[HttpClient]:
    with create_client(timeout=0.5, connect_timeout=0.5, retry=FAST) as http:
        yield http


def search(client: HttpClient, standin: StandIn) -> Any:
    return client.request_json("GET", f"{standin.url}/search?limit=5").data


def test_retry_after_is_honoured_over_the_backoff(client: HttpClient, standin: StandIn) -> None:
    standin.fail(Fault("status", 429, retry_after="1"))
    started = time.monotonic()
    data = search(client, standin)
    assert time.monotonic() - started >= 0.9
    assert len(data["features"]) == 5
    assert standin.search_requests() == 2


def test_rate_limit_after_the_last_try_is_a_rate_limit_error(client: HttpClient, standin: StandIn) -> None:
    standin.fail(*[Fault("status", 429, retry_after="0")] * FAST.attempts)
    with pytest.raises(RateLimitError):
        search(client, standin)
    assert standin.search_requests() == FAST.attempts


def test_a_retry_after_too_long_is_not_waited_for(standin: StandIn) -> None:
    standin.fail(Fault("status", 429, retry_after="3600"))
    with create_client(retry=RetryPolicy(backoff=0.01, max_retry_after=5)) as http, pytest.raises(RateLimitError):
        search(http, standin)
    assert standin.search_requests() == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_burst_of_server_errors_is_retried(client: HttpClient, standin: StandIn, status: int) -> None:
    standin.fail(*[Fault("status", status)] * (FAST.attempts - 1))
    assert len(search(client, standin)["features"]) == 5


def test_server_errors_after_the_last_try_are_a_provider_error_with_status_and_body(
    client: HttpClient, standin: StandIn
) -> None:
    standin.fail(*[Fault("status", 503)] * FAST.attempts)
    with pytest.raises(ProviderError) as caught:
        search(client, standin)
    assert caught.value.status == 503
    assert "injected 503" in caught.value.body
    assert standin.search_requests() == FAST.attempts


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_an_auth_error_at_once(client: HttpClient, standin: StandIn, status: int) -> None:
    standin.fail(Fault("status", status))
    with pytest.raises(AuthError):
        search(client, standin)
    assert standin.search_requests() == 1


def test_other_client_errors_are_not_retried(client: HttpClient, standin: StandIn) -> None:
    standin.fail(Fault("status", 400))
    with pytest.raises(ProviderError) as caught:
        search(client, standin)
    assert caught.value.status == 400
    assert standin.search_requests() == 1
    with pytest.raises(ProviderError) as missing:
        client.request("GET", f"{standin.url}/nowhere")
    assert missing.value.status == 404


def test_a_response_slower_than_the_timeout_is_retried(client: HttpClient, standin: StandIn) -> None:
    standin.fail(Fault("slow", delay=1.0))
    assert len(search(client, standin)["features"]) == 5
    assert standin.search_requests() == 2


def test_timeouts_after_the_last_try_are_a_provider_error(standin: StandIn) -> None:
    standin.fail(*[Fault("slow", delay=0.6)] * 2)
    policy = RetryPolicy(attempts=2, backoff=0.01, jitter=0.01)
    with create_client(timeout=0.2, retry=policy) as http, pytest.raises(ProviderError, match="timed out"):
        search(http, standin)


def test_truncated_json_is_retried_then_reported(client: HttpClient, standin: StandIn) -> None:
    standin.fail(Fault("truncate"))
    assert len(search(client, standin)["features"]) == 5
    standin.fail(*[Fault("truncate")] * FAST.attempts)
    with pytest.raises(ProviderError, match="invalid JSON"):
        search(client, standin)


def test_a_reset_connection_is_retried(client: HttpClient, standin: StandIn) -> None:
    standin.fail(Fault("reset"), Fault("reset"))
    assert len(search(client, standin)["features"]) == 5
    assert standin.search_requests() == 3


def test_refused_connection_is_a_provider_error() -> None:
    with StandIn() as server:
        url = server.url
    policy = RetryPolicy(attempts=2, backoff=0.01, jitter=0.01)
    with create_client(retry=policy) as http, pytest.raises(ProviderError, match="ConnectError"):
        http.request("GET", url)


# --- authentication -----------------------------------------------------------------------------------------


def _seen_headers(auth: httpx.Auth) -> httpx.Headers:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={})

    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as http:
        http.get("http://127.0.0.1/")
    return seen[0]


def test_bearer_and_api_key_headers() -> None:
    assert _seen_headers(BearerToken("abc"))["Authorization"] == "Bearer abc"
    assert _seen_headers(ApiKey("k1"))["Authorization"] == "ApiKey k1"
    assert _seen_headers(ApiKey("k2", header="X-Api-Key", scheme=""))["X-Api-Key"] == "k2"


class _OAuthServer(Served):
    """A token endpoint and a protected resource; tokens can be revoked."""

    def __init__(self, lifetime: int) -> None:
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.lock = threading.Lock()
        owner = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802 - the base class names it so
                form = self.read_body().decode()
                if "client_secret=s3cret" not in form or "grant_type=client_credentials" not in form:
                    return self.send_json(401, {"error": "invalid_client"})
                with owner.lock:
                    token = f"token-{len(owner.issued)}"
                    owner.issued.append(token)
                    owner.valid.add(token)
                return self.send_json(200, {"access_token": token, "expires_in": owner.lifetime})

            def do_GET(self) -> None:  # noqa: N802 - the base class names it so
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with owner.lock:
                    ok = token in owner.valid
                return self.send_json(200 if ok else 401, {"token": token})

        self._http = LocalHTTPServer(Handler)


def test_oauth2_client_credentials_fetch_reuse_and_refresh_on_401() -> None:
    with _OAuthServer(lifetime=3600) as server:
        auth = OAuth2ClientCredentials(f"{server.url}/oauth/token", "client", "s3cret")
        with create_client(auth=auth, retry=FAST) as http:
            assert http.request_json("GET", f"{server.url}/a").data["token"] == "token-0"
            assert http.request_json("GET", f"{server.url}/b").data["token"] == "token-0"
            server.valid.clear()  # revoked early: the next request gets a 401 and refreshes once
            assert http.request_json("GET", f"{server.url}/c").data["token"] == "token-1"
        assert server.issued == ["token-0", "token-1"]


def test_oauth2_refreshes_a_token_before_it_expires() -> None:
    with _OAuthServer(lifetime=1) as server:
        auth = OAuth2ClientCredentials(f"{server.url}/oauth/token", "client", "s3cret", margin=5)
        with create_client(auth=auth, retry=FAST) as http:
            http.request("GET", f"{server.url}/a")
            http.request("GET", f"{server.url}/b")
        assert server.issued == ["token-0", "token-1"]


def test_oauth2_wrong_secret_is_an_auth_error() -> None:
    with _OAuthServer(lifetime=3600) as server:
        auth = OAuth2ClientCredentials(f"{server.url}/oauth/token", "client", "wrong")
        with create_client(auth=auth, retry=FAST) as http, pytest.raises(AuthError):
            http.request("GET", f"{server.url}/a")
