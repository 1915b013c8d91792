"""Synapse 1.163's answers for the admin API's edges that tools probe: unknown sub-paths,
the lower-case ``bearer`` scheme, rooms looked up without parsing their ID."""

from __future__ import annotations

from urllib.parse import quote

from tests.kit import Kit, assert_error, create_room

S = "/_synapse/admin"


def _q(value: str) -> str:
    return quote(value, safe="")


def test_unknown_admin_sub_paths_are_unrecognized(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room = create_room(kit, user)
    for path in (f"{S}/v2/users/", f"{S}/v1/rooms/{room}/", f"{S}/v1/rooms/",
                 f"{S}/v2/users/{_q(user.user_id)}/", f"{S}/v1/server_version/",
                 "/_dendrite/admin/purgeRoom/x/", f"/_glia/admin/v1/rooms/{room}/",
                 f"{S}/v2/users/{_q(user.user_id)}/extra", f"{S}/v1/rooms/{room}/state/x"):
        assert_error(kit.request("GET", path, admin.access_token), 404, "M_UNRECOGNIZED")
    # The same paths without the slash are served.
    assert kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token).status_code == 200


def test_lower_case_bearer_scheme(kit: Kit) -> None:
    admin = kit.make_admin()
    r = kit.http.get(f"{S}/v2/users?limit=1",
                     headers={"Authorization": f"bearer {admin.access_token}"})
    assert r.status_code == 200, r.text


def test_room_details_members_state_of_anything_unknown_are_404(kit: Kit) -> None:
    admin = kit.make_admin()
    for room in ("!nope:localhost", "not-a-room", "@user:localhost"):
        for tail in ("", "/members", "/state"):
            assert_error(kit.request("GET", f"{S}/v1/rooms/{_q(room)}{tail}",
                                     admin.access_token), 404, "M_NOT_FOUND")


def test_user_list_hides_the_server_notices_sender(kit: Kit) -> None:
    """Synapse's notices sender has no account row, so tools never list (nor bulk-
    deactivate) it; Glia's has one, and the list leaves it out."""
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("POST", f"{S}/v1/send_server_notice", admin.access_token,
                    json={"user_id": user.user_id,
                          "content": {"msgtype": "m.text", "body": "hi"}})
    assert r.status_code == 200, r.text
    sender = "@server:localhost"
    r = kit.request("GET", f"{S}/v2/users/{_q(sender)}", admin.access_token)
    assert r.status_code == 200, r.text  # the account exists...
    for version in ("v2", "v3"):
        r = kit.request("GET", f"{S}/{version}/users?limit=1000&user_id=server",
                        admin.access_token)
        assert r.status_code == 200, r.text
        assert sender not in [u["name"] for u in r.json()["users"]]  # ...but is not listed
        assert r.json()["total"] == len(r.json()["users"])
    r = kit.request("GET", f"{S}/v2/users?limit=1000", admin.access_token)
    names = [u["name"] for u in r.json()["users"]]
    assert sender not in names and user.user_id in names
    assert all("approved" not in u for u in r.json()["users"])
    r = kit.request("GET", f"{S}/v2/users/{_q(user.user_id)}", admin.access_token)
    assert "approved" not in r.json()
