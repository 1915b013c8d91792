"""What the matrix-nio end-to-end encryption tests share: a client that logged in and
uploaded its device and one-time keys, a sync that keeps its keys current, the Megolm
room setting, and the skip where matrix-nio was installed without its ``e2e`` extra."""

from __future__ import annotations

from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    KeysQueryResponse,
    KeysUploadResponse,
    LoginResponse,
    SyncResponse,
)

from tests.kit import PASSWORD

nio_crypto = pytest.importorskip("nio.crypto")
#: The mark of a module whose tests encrypt (``pytestmark = needs_e2e``).
needs_e2e = pytest.mark.skipif(not nio_crypto.ENCRYPTION_ENABLED,
                               reason="matrix-nio without its e2e extra (vodozemac)")

MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}


async def encrypting_client(url: str, user_id: str, store: Path,
                            device_name: str) -> AsyncClient:
    """A nio client of ``user_id`` on the server at ``url``, logged in with the tests'
    password, its keys kept in ``store`` (made here) and uploaded."""
    store.mkdir()
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
    client = AsyncClient(url, user_id, store_path=str(store), config=config)
    login = await client.login(PASSWORD, device_name=device_name)
    assert isinstance(login, LoginResponse), login
    assert client.should_upload_keys
    uploaded = await client.keys_upload()
    assert isinstance(uploaded, KeysUploadResponse), uploaded
    assert uploaded.signed_curve25519_count > 0
    return client


async def sync_with_keys(client: AsyncClient, timeout_ms: int) -> SyncResponse:
    """One sync (long-polling up to ``timeout_ms``), then the key upload and query it
    calls for."""
    response = await client.sync(timeout=timeout_ms)
    assert isinstance(response, SyncResponse), response
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        assert isinstance(await client.keys_query(), KeysQueryResponse)
    return response
