"""The admin user list's substring search (``name=``, ``user_id=``): matches in user IDs
and display names, the total with and without a page, paging past the end, and the
other filters and orderings combined with a search."""

from __future__ import annotations

from urllib.parse import quote

from tests.kit import Kit, unique

USERS = "/_synapse/admin/v2/users"


def _put(kit: Kit, token: str, user_id: str, **body: object) -> None:
    r = kit.request("PUT", f"{USERS}/{quote(user_id, safe='')}", token, json=body)
    assert r.status_code in (200, 201), r.text


def _list(kit: Kit, token: str, **params: object) -> dict:
    r = kit.request("GET", USERS, token, params={k: str(v) for k, v in params.items()})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_search_matches_ids_and_display_names_with_totals(kit: Kit) -> None:
    admin = kit.make_admin()
    tag = unique("srch")
    server = admin.user_id.split(":", 1)[1]
    by_id = [f"@{tag}{i}:{server}" for i in range(3)]
    for i, user_id in enumerate(by_id):
        _put(kit, admin.access_token, user_id, displayname=f"Someone {i}")
    # Found by display name only (case-insensitively); the ID does not hold the term.
    by_name = f"@other{unique('x')}:{server}"
    _put(kit, admin.access_token, by_name, displayname=f"Known as {tag.upper()}")
    gone = f"@{tag}gone:{server}"
    _put(kit, admin.access_token, gone)
    _put(kit, admin.access_token, gone, deactivated=True)

    body = _list(kit, admin.access_token, name=tag, limit=2)
    assert body["total"] == 4
    assert [u["name"] for u in body["users"]] == sorted([*by_id, by_name])[:2]
    assert body["next_token"] == "2"
    rest = _list(kit, admin.access_token, name=tag, limit=2, **{"from": 2})
    assert rest["total"] == 4 and "next_token" not in rest
    assert [u["name"] for u in rest["users"]] == sorted([*by_id, by_name])[2:]
    # A page past the end still says how many match.
    past = _list(kit, admin.access_token, name=tag, limit=2, **{"from": 10})
    assert past["users"] == [] and past["total"] == 4
    # The term is a literal: LIKE's wildcards in it match only themselves.
    assert _list(kit, admin.access_token, name=f"{tag[:3]}%{tag[4:]}")["total"] == 0
    # The other filters and orderings apply to the matches.
    both = _list(kit, admin.access_token, name=tag, deactivated="true")
    assert both["total"] == 5 and gone in [u["name"] for u in both["users"]]
    ordered = _list(kit, admin.access_token, name=tag, order_by="displayname", dir="b")
    assert ordered["users"][0]["name"] == by_id[2]
    assert ordered["users"][-1]["displayname"] == f"Known as {tag.upper()}"
    # user_id= searches IDs only.
    ids = _list(kit, admin.access_token, user_id=tag.upper())
    assert sorted(u["name"] for u in ids["users"]) == by_id and ids["total"] == 3
