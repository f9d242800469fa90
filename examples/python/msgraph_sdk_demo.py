"""The official Microsoft Graph Python SDK against the graph-subs emulator.

Creates, lists (following @odata.nextLink), renews and deletes subscriptions with
`msgraph-sdk`, authenticated by azure-identity's own `ClientSecretCredential` (MSAL's
client-credentials flow) against the emulator's token endpoint. Nothing in the SDK is
patched: only the authority host and the Graph base URL point at the emulator.

`run.sh` starts the emulator and sets the environment this script reads:

    GRAPH_SUBS_BASE_URL   https://127.0.0.1:PORT, from the emulator's --json line
    GRAPH_SUBS_TENANT_ID  the emulator's tenant
    GRAPH_SUBS_CLIENT_ID, GRAPH_SUBS_CLIENT_SECRET
                          an app the emulator was started with (--app ID=SECRET:Mail.Read)
    SSL_CERT_FILE         the emulator's CA certificate, for httpx (the SDK's HTTP client)
    REQUESTS_CA_BUNDLE    the same file, for azure-core's requests transport (azure-identity)

Secrets and tokens are never printed.
"""

import asyncio
import os
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from azure.identity import ClientSecretCredential
from msgraph import GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.subscription import Subscription

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# No receiver runs in this demo: the emulator is started with --no-endpoint-validation.
NOTIFICATION_URL = "https://webhook.example.com/notify"
USERS = ["ada@contoso.com", "grace@contoso.com", "alan@contoso.com"]


def environment(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"error: {name} is not set (run this script through run.sh)")
    return value


async def list_all(client: GraphServiceClient) -> list[Subscription]:
    """Every subscription the app can see, page after page."""
    page = await client.subscriptions.get()
    found = list(page.value or [])
    pages = 1
    while page.odata_next_link:
        page = await client.subscriptions.with_url(page.odata_next_link).get()
        found.extend(page.value or [])
        pages += 1
    print(f"  listed {len(found)} subscription(s) in {pages} page(s)")
    return found


def stamp(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "?"


async def demo() -> None:
    base_url = environment("GRAPH_SUBS_BASE_URL")
    tenant_id = environment("GRAPH_SUBS_TENANT_ID")
    environment("SSL_CERT_FILE")
    environment("REQUESTS_CA_BUNDLE")

    # azure-identity (MSAL inside): the authority is the emulator's host. MSAL reads
    # {authority}/{tenant}/v2.0/.well-known/openid-configuration and posts the
    # client-credentials request to its token_endpoint. Instance discovery is off: MSAL
    # would send it to login.microsoftonline.com, not to the authority.
    credential = ClientSecretCredential(
        tenant_id,
        environment("GRAPH_SUBS_CLIENT_ID"),
        environment("GRAPH_SUBS_CLIENT_SECRET"),
        authority=urlsplit(base_url).netloc,
        disable_instance_discovery=True,
    )
    client = GraphServiceClient(credential, scopes=[GRAPH_SCOPE])
    client.request_adapter.base_url = f"{base_url}/v1.0"
    print(f"Graph base URL: {client.request_adapter.base_url}")
    print(f"authority:      https://{urlsplit(base_url).netloc}/{tenant_id}")

    now = datetime.now(timezone.utc)
    print("create three subscriptions (Mail.Read, application permissions):")
    created = []
    for user in USERS:
        subscription = await client.subscriptions.post(
            Subscription(
                change_type="created,updated",
                notification_url=NOTIFICATION_URL,
                resource=f"users/{user}/messages",
                expiration_date_time=now + timedelta(hours=24),
                client_state="demo-client-state",
            )
        )
        created.append(subscription)
        print(
            f"  created {subscription.id} on {subscription.resource}, "
            f"expires {stamp(subscription.expiration_date_time)}"
        )

    print("list:")
    listed = await list_all(client)
    for subscription in listed:
        state = "set" if subscription.client_state else "not returned"
        print(f"  {subscription.id} {subscription.resource} (clientState {state})")
    assert {s.id for s in created} <= {s.id for s in listed}

    target = created[0]
    renewed_until = now + timedelta(hours=48)
    print(f"renew {target.id} until {stamp(renewed_until)}:")
    renewed = await client.subscriptions.by_subscription_id(target.id).patch(
        Subscription(expiration_date_time=renewed_until)
    )
    print(f"  now expires {stamp(renewed.expiration_date_time)}")
    fetched = await client.subscriptions.by_subscription_id(target.id).get()
    print(f"  read back:  {stamp(fetched.expiration_date_time)}")
    assert fetched.expiration_date_time > target.expiration_date_time

    print(f"delete {target.id}:")
    await client.subscriptions.by_subscription_id(target.id).delete()
    print("  deleted")

    print("list again:")
    remaining = await list_all(client)
    gone = target.id not in {s.id for s in remaining}
    print(f"  {target.id} is {'gone' if gone else 'STILL LISTED'}")
    assert gone

    print("a subscription that does not exist:")
    try:
        await client.subscriptions.by_subscription_id(target.id).get()
        raise AssertionError("a deleted subscription was found")
    except ODataError as error:
        print(f"  {error.response_status_code} {error.error.code}: {error.error.message}")

    for subscription in created[1:]:
        await client.subscriptions.by_subscription_id(subscription.id).delete()
    print("cleaned up; done.")


def main() -> int:
    try:
        asyncio.run(demo())
    except ODataError as error:
        detail = error.error
        print(
            f"error: Graph answered {error.response_status_code}: "
            f"{detail.code if detail else '?'}: {detail.message if detail else error}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
