"""Account administration over real HTTP: Synapse's users API, whois, deactivation,
password resets, Dendrite's resetPassword, and the audit rows each write leaves."""

from __future__ import annotations

from urllib.parse import quote

from tests.kit import Kit, User, assert_error, create_room, unique, wait_for_job

S = "/_synapse/admin"


def _q(user_id: str) -> str:
    return quote(user_id, safe="")


def _audit(kit: Kit, admin: User, **filters: str) -> list[dict]:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in filters.items())
    r = kit.request("GET", f"/_glia/admin/v1/audit_log?{query}", admin.access_token)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def test_user_list_filters_and_pagination(kit: Kit) -> None:
    admin = kit.make_admin()
    tag = unique("lst")
    users = [kit.register_user(f"{tag}{i}") for i in range(5)]
    bot = kit.register_user(f"{tag}bot", user_type="bot")
    r = kit.request("GET", f"{S}/v2/users?name={tag}&limit=2", admin.access_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 6
    assert body["next_token"] == "2"
    assert [u["name"] for u in body["users"]] == sorted(u.user_id for u in [*users, bot])[:2]
    item = body["users"][0]
    # Exactly Synapse 1.163's keys: no ``approved`` without MSC3866.
    assert set(item) == {"name", "user_type", "is_guest", "admin", "deactivated",
                         "shadow_banned", "displayname", "avatar_url", "creation_ts",
                         "erased", "last_seen_ts", "locked"}
    assert item["creation_ts"] > 10**12  # milliseconds in the list

    seen, token = [], "0"
    while token is not None:
        r = kit.request("GET", f"{S}/v2/users?name={tag}&limit=4&from={token}",
                        admin.access_token)
        seen += [u["name"] for u in r.json()["users"]]
        token = r.json().get("next_token")
    assert len(seen) == 6 and len(set(seen)) == 6

    r = kit.request("GET", f"{S}/v2/users?name={tag}&not_user_type=bot", admin.access_token)
    assert bot.user_id not in [u["name"] for u in r.json()["users"]]
    r = kit.request("GET", f"{S}/v2/users?name={tag}&not_user_type=", admin.access_token)
    assert [u["name"] for u in r.json()["users"]] == [bot.user_id]
    r = kit.request("GET", f"{S}/v2/users?name={tag}&dir=b&order_by=name", admin.access_token)
    assert r.json()["users"][0]["name"] == max(u.user_id for u in [*users, bot])
    r = kit.request("GET", f"{S}/v2/users?user_id={tag}3", admin.access_token)
    assert [u["name"] for u in r.json()["users"]] == [users[3].user_id]
    r = kit.request("GET", f"{S}/v2/users?admins=true&name={tag}", admin.access_token)
    assert r.json()["total"] == 0
    assert_error(kit.request("GET", f"{S}/v2/users?order_by=nope", admin.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{S}/v2/users?limit=-1", admin.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{S}/v2/users?guests=maybe", admin.access_token), 400,
                 "M_INVALID_PARAM")
    # The Glia mount serves the same API.
    r = kit.request("GET", f"/_glia/admin/v2/users?name={tag}", admin.access_token)
    assert r.json()["total"] == 6


def test_get_put_user(kit: Kit) -> None:
    admin = kit.make_admin()
    target = f"@{unique('new')}:localhost"
    r = kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token, json={
        "password": "s3cret-pass", "displayname": "Newbie", "admin": False,
        "threepids": [{"medium": "email", "address": f"{unique()}@example.org"}],
        "external_ids": [{"auth_provider": "oidc-test", "external_id": unique()}],
    })
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["name"] == target and user["displayname"] == "Newbie"
    assert user["creation_ts"] < 10**11  # seconds on the single-user object
    assert len(user["threepids"]) == 1 and len(user["external_ids"]) == 1
    for key in ("is_guest", "admin", "deactivated", "erased", "shadow_banned", "locked",
                "suspended"):
        assert user[key] is False
    login = kit.login(target, "s3cret-pass")

    r = kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token,
                    json={"displayname": "Renamed", "user_type": "bot", "locked": True})
    assert r.status_code == 200, r.text
    assert r.json()["displayname"] == "Renamed" and r.json()["user_type"] == "bot"
    assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami",
                             login.access_token), 401, "M_USER_LOCKED")
    r = kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token,
                    json={"locked": False})
    assert kit.request("GET", "/_matrix/client/v3/account/whoami",
                       login.access_token).status_code == 200
    r = kit.request("GET", f"{S}/v2/users/{_q(target)}", admin.access_token)
    assert r.json()["locked"] is False

    entries = _audit(kit, admin, target=target)
    assert [e["action"] for e in entries] == ["users.put"] * 3
    assert entries[-1]["params"]["body"]["password"] == "<redacted>"
    assert all("s3cret" not in str(e) for e in entries)

    assert_error(kit.request("GET", f"{S}/v2/users/{_q('@x:elsewhere.org')}",
                             admin.access_token), 400, "M_UNKNOWN")
    assert_error(kit.request("GET", f"{S}/v2/users/{_q('@nobody-' + unique() + ':localhost')}",
                             admin.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{S}/v2/users/not-a-user", admin.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token,
                             json={"admin": "yes"}), 400, "M_BAD_JSON")
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token,
                             json={"deactivated": True, "locked": True}), 400, "M_UNKNOWN")
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token,
                             json={"user_type": "wizard"}), 400, "M_UNKNOWN")
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q(admin.user_id)}", admin.access_token,
                             json={"admin": False}), 400, "M_UNKNOWN")
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token,
                             content=b"nope"), 400, "M_NOT_JSON")
    failed = _audit(kit, admin, target=target)[0]
    assert failed["outcome"] == "M_NOT_JSON" and failed["status"] == 400


def test_admin_flag(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("GET", f"{S}/v1/users/{_q(admin.user_id)}/admin", admin.access_token)
    assert r.json() == {"admin": True}
    r = kit.request("PUT", f"{S}/v1/users/{_q(user.user_id)}/admin", admin.access_token,
                    json={"admin": True})
    assert r.status_code == 200 and r.json() == {}
    r = kit.request("GET", f"{S}/v1/users/{_q(user.user_id)}/admin", user.access_token)
    assert r.json() == {"admin": True}
    assert_error(kit.request("PUT", f"{S}/v1/users/{_q(admin.user_id)}/admin",
                             admin.access_token, json={"admin": False}), 400, "M_UNKNOWN")
    assert_error(kit.request("PUT", f"{S}/v1/users/{_q(user.user_id)}/admin",
                             admin.access_token, json={}), 400, "M_MISSING_PARAM")
    assert_error(kit.request("GET", f"{S}/v1/users/{_q('@a:remote.org')}/admin",
                             admin.access_token), 400, "M_UNKNOWN")
    # An unknown local user: Synapse's failed row update, 404 M_UNKNOWN.
    assert_error(kit.request("PUT", f"{S}/v1/users/{_q('@' + unique('nobody') + ':localhost')}"
                             "/admin", admin.access_token, json={"admin": True}),
                 404, "M_UNKNOWN")


def test_deactivate_leaves_rooms_as_a_job(kit: Kit) -> None:
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    rooms = [create_room(kit, alice, preset="public_chat") for _ in range(3)]
    for room_id in rooms:
        assert kit.request("POST", f"/_matrix/client/v3/join/{room_id}", bob.access_token,
                           json={}).status_code == 200
    invited = create_room(kit, alice, invite=[bob.user_id])
    r = kit.request("POST", f"{S}/v1/deactivate/{_q(bob.user_id)}", admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json()["id_server_unbind_result"] == "success"
    job = wait_for_job(kit, admin, r.json()["leave_rooms_job_id"])
    assert job["status"] == "complete", job
    assert sorted(job["result"]["left_rooms"]) == sorted([*rooms, invited])
    assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami", bob.access_token),
                 401, "M_UNKNOWN_TOKEN")
    members = kit.request("GET", f"/_matrix/client/v3/rooms/{rooms[0]}/joined_members",
                          alice.access_token).json()["joined"]
    assert bob.user_id not in members
    user = kit.request("GET", f"{S}/v2/users/{_q(bob.user_id)}", admin.access_token).json()
    assert user["deactivated"] is True and user["erased"] is False

    carol = kit.register_user()
    r = kit.request("POST", f"{S}/v1/deactivate/{_q(carol.user_id)}", admin.access_token,
                    json={"erase": True})
    assert r.status_code == 200
    user = kit.request("GET", f"{S}/v2/users/{_q(carol.user_id)}", admin.access_token).json()
    assert user["erased"] is True and user["displayname"] is None
    assert_error(kit.request("POST", f"{S}/v1/deactivate/{_q(carol.user_id)}",
                             admin.access_token, json={"erase": "yes"}), 400, "M_BAD_JSON")
    assert_error(kit.request("POST", f"{S}/v1/deactivate/{_q('@x:remote.org')}",
                             admin.access_token), 400, "M_UNKNOWN")
    assert_error(kit.request("POST", f"{S}/v1/deactivate/{_q('@gone' + unique() + ':localhost')}",
                             admin.access_token), 404, "M_NOT_FOUND")
    # A deactivated user can be reactivated with a new password.
    r = kit.request("PUT", f"{S}/v2/users/{_q(bob.user_id)}", admin.access_token,
                    json={"deactivated": False, "password": "back-again-1"})
    assert r.status_code == 200 and r.json()["deactivated"] is False
    kit.login(bob.user_id, "back-again-1")


def test_reset_password_synapse_and_dendrite(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("POST", f"{S}/v1/reset_password/{_q(user.user_id)}", admin.access_token,
                    json={"new_password": "fresh-pass-1", "logout_devices": False})
    assert r.status_code == 200 and r.json() == {}
    assert kit.request("GET", "/_matrix/client/v3/account/whoami",
                       user.access_token).status_code == 200
    kit.login(user.user_id, "fresh-pass-1")
    r = kit.request("POST", f"{S}/v1/reset_password/{_q(user.user_id)}", admin.access_token,
                    json={"new_password": "fresh-pass-2"})
    assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token),
                 401, "M_UNKNOWN_TOKEN")
    assert_error(kit.request("POST", f"{S}/v1/reset_password/{_q(user.user_id)}",
                             admin.access_token, json={}), 400, "M_MISSING_PARAM")
    assert_error(kit.request("POST", f"{S}/v1/reset_password/{_q('@no' + unique() + ':localhost')}",
                             admin.access_token, json={"new_password": "x"}), 404, "M_NOT_FOUND")

    path = f"/_dendrite/admin/resetPassword/{_q(user.user_id)}"
    r = kit.request("POST", path, admin.access_token, json={"password": "dendrite-pass"})
    assert r.status_code == 200 and r.json() == {"password_updated": True}
    kit.login(user.user_id, "dendrite-pass")
    assert_error(kit.request("POST", path, admin.access_token, json={"password": "short"}),
                 400, "M_WEAK_PASSWORD")
    assert_error(kit.request("POST", path, admin.access_token, json={}), 400,
                 "M_MISSING_PARAM")
    actions = [e["action"] for e in _audit(kit, admin, target=user.user_id)]
    assert actions.count("users.reset_password") == 6
    assert all("pass" not in str(e["params"].get("body", {}).values())
               for e in _audit(kit, admin, target=user.user_id))


def test_whois(kit: Kit) -> None:
    """Synapse's shape: every connection under the device key ``""`` (Ketesa reads it
    there), on the admin path and on every client path Synapse serves."""
    admin, user, other = kit.make_admin(), kit.register_user(), kit.register_user()
    kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token,
                headers={"User-Agent": "glia-test/1.0"})
    for path in (f"{S}/v1/whois/{_q(user.user_id)}",
                 *(f"/_matrix/client/{v}/admin/whois/{_q(user.user_id)}"
                   for v in ("api/v1", "r0", "v3", "unstable"))):
        r = kit.request("GET", path, admin.access_token)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert body["user_id"] == user.user_id
        assert list(body["devices"]) == [""]
        assert list(body["devices"][""]) == ["sessions"]
        [session] = body["devices"][""]["sessions"]
        [connection] = session["connections"]
        assert connection == {"ip": "127.0.0.1", "last_seen": connection["last_seen"],
                              "user_agent": "glia-test/1.0"}
        assert isinstance(connection["last_seen"], int) and connection["last_seen"] > 0
    # Users may ask about themselves, not about others.
    assert kit.request("GET", f"/_matrix/client/v3/admin/whois/{_q(user.user_id)}",
                       user.access_token).status_code == 200
    assert_error(kit.request("GET", f"/_matrix/client/v3/admin/whois/{_q(other.user_id)}",
                             user.access_token), 403, "M_FORBIDDEN")
    assert_error(kit.request("GET", f"{S}/v1/whois/{_q('@x:remote.org')}", admin.access_token),
                 400, "M_UNKNOWN")


def test_jobs_api(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("POST", f"{S}/v1/deactivate/{_q(user.user_id)}", admin.access_token)
    job_id = r.json()["leave_rooms_job_id"]
    job = wait_for_job(kit, admin, job_id)
    assert job["kind"] == "leave_all_rooms" and job["started_by"] == admin.user_id
    assert job["params"] == {"user_id": user.user_id}
    r = kit.request("GET", "/_glia/admin/v1/jobs?kind=leave_all_rooms&limit=1",
                    admin.access_token)
    assert r.status_code == 200 and len(r.json()["jobs"]) == 1
    assert_error(kit.request("POST", f"/_glia/admin/v1/jobs/{job_id}/cancel",
                             admin.access_token), 400, "M_UNKNOWN")
    assert_error(kit.request("GET", "/_glia/admin/v1/jobs/nope", admin.access_token), 404,
                 "M_NOT_FOUND")
    assert_error(kit.request("GET", "/_glia/admin/v1/jobs?status=x&limit=abc",
                             admin.access_token), 400, "M_INVALID_PARAM")
