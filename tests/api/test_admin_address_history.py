"""The address history behind whois and the admin user list (Synapse's ``user_ips``):
kept per access token and address, through device deletion and deactivation, until
``user_ips_max_age`` — and integer ``last_seen_ts`` in every device list."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, wait_until

S = "/_synapse/admin"
DAY_MS = 86_400_000


def _connections(kit: Kit, admin: User, user: User) -> list[dict[str, Any]]:
    r = kit.request("GET", f"{S}/v1/whois/{quote(user.user_id, safe='')}",
                    admin.access_token)
    assert r.status_code == 200, r.text
    return list(r.json()["devices"][""]["sessions"][0]["connections"])


def test_history_outlives_devices_and_deactivation_then_expires(clock_kit: Kit) -> None:
    kit = clock_kit
    admin, user = kit.make_admin(), kit.register_user()
    phone = kit.login(user.user_id)
    kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token,
                headers={"User-Agent": "laptop/1"})
    kit.request("GET", "/_matrix/client/v3/account/whoami", phone.access_token,
                headers={"User-Agent": "phone/2"})

    # Device lists carry integer last_seen_ts (Draupnir decodes them strictly).
    r = kit.request("GET", "/_matrix/client/v3/devices", user.access_token)
    assert all(isinstance(d["last_seen_ts"], int) for d in r.json()["devices"]), r.text
    r = kit.request("GET", f"{S}/v2/users/{quote(user.user_id, safe='')}/devices",
                    admin.access_token)
    assert all(isinstance(d["last_seen_ts"], int) for d in r.json()["devices"]), r.text

    # Deleting the phone, then deactivating the account, keeps both connections.
    r = kit.request("DELETE", f"{S}/v2/users/{quote(user.user_id, safe='')}/devices/"
                    f"{phone.device_id}", admin.access_token)
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"{S}/v1/deactivate/{quote(user.user_id, safe='')}",
                    admin.access_token, json={})
    assert r.status_code == 200, r.text
    seen = _connections(kit, admin, user)
    assert sorted(c["user_agent"] for c in seen) == ["laptop/1", "phone/2"]
    assert all(isinstance(c["last_seen"], int) and c["ip"] == "127.0.0.1" for c in seen)

    # The admin user list still knows when the user was last seen, from the history.
    r = kit.request("GET", f"{S}/v2/users/{quote(user.user_id, safe='')}",
                    admin.access_token)
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{S}/v3/users?user_id={quote(user.user_id, safe='')}"
                    "&deactivated=true", admin.access_token)
    [item] = r.json()["users"]
    assert item["last_seen_ts"] == max(c["last_seen"] for c in seen)

    # Past user_ips_max_age (28 days by default) the retention loop forgets them.
    kit.advance_clock(27 * DAY_MS)
    assert len(_connections(kit, admin, user)) == 2
    kit.advance_clock(2 * DAY_MS)
    wait_until(lambda: _connections(kit, admin, user) == [], what="pruned history")
