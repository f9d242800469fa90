"""Renewal throughput of the official Microsoft Graph Python SDK against the emulator.

The benchmark counterpart of our Rust client: `msgraph-sdk` renews every subscription id
in a file once, `PATCH /subscriptions/{id}` with `{"expirationDateTime": ...}` through the
SDK's own request builders

    client.subscriptions.by_subscription_id(id).patch(Subscription(expiration_date_time=...))

with at most --concurrency renewals in flight (asyncio tasks behind a semaphore, all
through one GraphServiceClient), and prints one JSON line:

    {"client": "msgraph-sdk", "version": "1.65.0", "python": "3.11.7", "renewed": 2000,
     "errors": 0, "seconds": 46.2, "per_second": 43.3, "concurrency": 16}

    renewed      timed renewals that succeeded; renewed + errors = the ids in FILE
    errors       timed renewals that raised (the first one's status and code go to stderr)
    seconds      the timed renewals only: from the first request until the last renewal
                 returned its deserialized Subscription
    per_second   renewed / seconds

Exit status: 0 when errors is 0, 1 otherwise, 2 for usage errors.

    GRAPH_SUBS_TOKEN=... renew_bench.py --base-url http://127.0.0.1:PORT/v1.0 \\
        --ids-file FILE --expiration 2026-11-25T12:00:00Z --concurrency 16

Before the clock starts, the first min(50, N) ids are renewed once (not counted), so that
imports, the SDK's lazy set-up and the connections are outside the measurement.

Authentication. The bearer token comes from GRAPH_SUBS_TOKEN and is never printed. The
emulator is plain HTTP here, and azure-identity's credentials need an HTTPS token
endpoint, so there is no credential: a small kiota `AccessTokenProvider` returns the
static token, wrapped in kiota's `BaseBearerTokenAuthenticationProvider` and given to
`msgraph.GraphRequestAdapter`, whose `base_url` is --base-url; then
`GraphServiceClient(request_adapter=adapter)`. That is kiota's public extension point for
bring-your-own tokens; nothing in the SDK is patched. The provider hands the token only
to the --base-url host (kiota's `AllowedHostsValidator`) and, like kiota's own
`AzureIdentityAccessTokenProvider`, only over https:// or to a loopback host
(localhost, 127.0.0.1, ::1). Nothing else in the SDK refuses plain HTTP.

What the SDK does underneath (msgraph-sdk 1.65.0, kiota 1.16.0, httpx 0.28.1):

- The HTTP client is the SDK's default `httpx.AsyncClient(http2=True)`. Over http://
  it speaks HTTP/1.1 (httpx negotiates HTTP/2 only through TLS ALPN; no h2c upgrade),
  so every request on the wire holds its own connection. httpx's default pool opens at
  most 100 connections and keeps at most 20 idle ones (for 5 seconds): up to
  --concurrency 20 connections are reused; above 20 some are closed when they fall
  idle and opened again later; above 100 renewals queue for a connection, so the
  concurrency is not real. The script warns on stderr in those two cases.
- The default RetryHandler retries 429, 503 and 504, PATCH included, up to three times,
  sleeping Retry-After (or, without one, a backoff of three seconds and more) in
  between. A throttled renewal is slow, not an error, and the caller cannot see the
  retries (per-request middleware options reach only the first attempt: the last
  middleware removes them from the request that the retry sends again). So run the
  emulator with `--throttle off` and no --faults for a throughput figure.
- The time goes into deserializing each response: msgraph's generated
  `Entity.get_field_deserializers` runs some 2,400 function-local imports, one per
  Entity subtype, on every call (about 14 ms of CPU a Subscription here, of some 17 ms
  a renewal; a bare httpx PATCH costs about 5 ms). The client is CPU-bound on one core
  well below --concurrency 16 (--concurrency 1 renews about as fast), and fewer
  connections than that are busy at once.
"""

import argparse
import asyncio
import importlib.metadata
import ipaddress
import json
import os
import platform
import sys
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.subscription import Subscription

WARM_UP = 50
# httpx's default Limits, which the SDK's default client keeps.
HTTPX_KEEPALIVE_CONNECTIONS = 20
HTTPX_MAX_CONNECTIONS = 100
TOKEN_VARIABLE = "GRAPH_SUBS_TOKEN"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StaticTokenProvider(AccessTokenProvider):
    """A bearer token from the environment, for the one host it belongs to."""

    def __init__(self, token: str, host: str) -> None:
        self._token = token
        self._hosts = AllowedHostsValidator([host])

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] = {}
    ) -> str:
        if not self._hosts.is_url_host_valid(uri):
            return ""  # no Authorization header for any other host
        parts = urlsplit(uri)
        if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise ValueError("a bearer token goes only over https, or to a loopback host")
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


def expiration(text: str) -> datetime:
    """RFC 3339 with an offset or Z (Python 3.10's fromisoformat does not take Z)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {text!r}")
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone (such as Z): {text!r}")
    return moment


def concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1: {text!r}")
    return value


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Renew every subscription id in a file once with msgraph-sdk, at a "
        "given concurrency, and print the throughput as one JSON line. The bearer token "
        f"comes from {TOKEN_VARIABLE}.",
    )
    parser.add_argument("--base-url", required=True,
                        help="the Graph service root with its version, such as "
                        "http://127.0.0.1:8080/v1.0")
    parser.add_argument("--ids-file", required=True,
                        help="subscription ids, one a line")
    parser.add_argument("--expiration", required=True, type=expiration,
                        help="the new expirationDateTime (RFC 3339), such as "
                        "2026-11-25T12:00:00Z")
    parser.add_argument("--concurrency", required=True, type=concurrency,
                        help="renewals in flight at most")
    args = parser.parse_args()

    parts = urlsplit(args.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        parser.error(f"--base-url: not an http(s) URL: {args.base_url!r}")
    args.base_url = args.base_url.rstrip("/")
    args.host = parts.hostname
    try:
        with open(args.ids_file, encoding="utf-8") as file:
            args.ids = [line.strip() for line in file if line.strip()]
    except OSError as error:
        parser.error(f"--ids-file: {error}")
    if not args.ids:
        parser.error(f"--ids-file: {args.ids_file} holds no ids")
    args.token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not args.token:
        parser.error(f"{TOKEN_VARIABLE} is not set")
    return args


def describe(error: BaseException) -> str:
    """The status and code of a failed renewal; never the request's headers."""
    if isinstance(error, ODataError):
        detail = error.error
        code = detail.code if detail and detail.code else "?"
        message = detail.message if detail and detail.message else ""
        return f"{error.response_status_code} {code}: {message}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


class Tally:
    def __init__(self) -> None:
        self.renewed = 0
        self.errors = 0
        self.first_error: str | None = None


async def renew_all(client: GraphServiceClient, ids: list[str], until: datetime,
                    limit: int) -> Tally:
    tally = Tally()
    gate = asyncio.Semaphore(limit)

    async def renew(subscription_id: str) -> None:
        async with gate:
            try:
                await client.subscriptions.by_subscription_id(subscription_id).patch(
                    Subscription(expiration_date_time=until)
                )
                tally.renewed += 1
            except Exception as error:  # every failure is counted, the first one shown
                tally.errors += 1
                if tally.first_error is None:
                    tally.first_error = f"{subscription_id}: {describe(error)}"

    await asyncio.gather(*(renew(subscription_id) for subscription_id in ids))
    return tally


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    adapter = GraphRequestAdapter(
        BaseBearerTokenAuthenticationProvider(StaticTokenProvider(args.token, args.host))
    )
    adapter.base_url = args.base_url
    client = GraphServiceClient(request_adapter=adapter)

    warm_up = await renew_all(client, args.ids[:WARM_UP], args.expiration, args.concurrency)
    if warm_up.errors:
        print(f"warm-up: {warm_up.errors} of {warm_up.errors + warm_up.renewed} renewals "
              f"failed, the first: {warm_up.first_error}", file=sys.stderr)

    started = time.perf_counter()
    tally = await renew_all(client, args.ids, args.expiration, args.concurrency)
    seconds = time.perf_counter() - started

    if tally.errors:
        print(f"{tally.errors} of {len(args.ids)} renewals failed, the first: "
              f"{tally.first_error}", file=sys.stderr)
    return {
        "client": "msgraph-sdk",
        "version": importlib.metadata.version("msgraph-sdk"),
        "python": platform.python_version(),
        "renewed": tally.renewed,
        "errors": tally.errors,
        "seconds": round(seconds, 6),
        "per_second": round(tally.renewed / seconds, 1) if seconds > 0 else 0.0,
        "concurrency": args.concurrency,
    }


def main() -> int:
    args = arguments()
    if args.concurrency > HTTPX_MAX_CONNECTIONS:
        print(f"warning: the SDK's httpx client opens at most {HTTPX_MAX_CONNECTIONS} "
              f"connections; renewals beyond that wait for one", file=sys.stderr)
    elif args.concurrency > HTTPX_KEEPALIVE_CONNECTIONS:
        print(f"warning: the SDK's httpx client keeps at most {HTTPX_KEEPALIVE_CONNECTIONS} "
              f"idle connections; more are closed when idle and opened again",
              file=sys.stderr)
    result = asyncio.run(bench(args))
    print(json.dumps(result), flush=True)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
