"""Every event Glia stores verifies: ID = reference hash, content hash, signature."""

from __future__ import annotations

from urllib.parse import quote

from glia.config import load_config
from glia.protocol.events import compute_event_id
from glia.protocol.room_versions import get_room_version
from glia.protocol.signing import (
    check_content_hash,
    key_id,
    parse_signing_keys,
    verify_event_signatures,
    verify_key_of,
)
from glia.storage import open_storage
from tests.kit import Kit, create_room, send_event
from tests.server import GliaProcess


async def test_every_stored_event_verifies(glia: GliaProcess, kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    for version in ("1", "3", "4", "10", "11", "12"):
        room_id = create_room(kit, alice, room_version=version, invite=[bob.user_id])
        kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/join", bob.access_token,
                    json={})
        event_id = send_event(kit, bob, room_id)
        r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/redact/"
                        f"{quote(event_id, safe='')}/r", alice.access_token, json={})
        assert r.status_code == 200, r.text

    config = load_config(None, glia.env)
    key = parse_signing_keys(config.resolve(config.signing_key_path).read_text())[0]
    verify_keys = {config.server_name: {key_id(key): verify_key_of(key)}}
    storage = await open_storage(config, run_migrations=False)
    try:
        rows = await storage.engine.fetchall(
            "SELECT e.event_id, e.redacted_by, r.room_version FROM events e"
            " JOIN rooms r ON r.room_id = e.room_id ORDER BY e.stream_ordering")
        assert len(rows) > 50
        for row in rows:
            event = await storage.events.get(row["event_id"])
            assert event is not None
            version = get_room_version(row["room_version"])
            assert version is not None
            if not version.event_id_in_pdu:
                assert compute_event_id(event.pdu, version) == event.event_id
            verify_event_signatures(event.pdu, version, verify_keys)
            # A redacted event keeps its ID and signature but no longer its content hash.
            assert check_content_hash(event.pdu) == (row["redacted_by"] is None), row
    finally:
        await storage.close()
