"""6. Admin lists: ``v2/users`` first page, search, all pages; ``v1/rooms`` — ms.

The server is first topped up to the target number of users (created password-less with
``PUT v2/users/{id}``, the cheap way admin tools provision accounts) and rooms, counting
what earlier scenarios left there. Single-request times are the median of five.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.client import q
from bench.scale import Scale
from bench.scenarios.base import Metric, Outcome, Scenario
from bench.target import Target, bounded

USERS = "/_synapse/admin/v2/users"
ROOMS = "/_synapse/admin/v1/rooms"


async def run(t: Target, scale: Scale) -> Outcome:
    admin = await t.get_admin()
    tok = admin.access_token
    users_now = (await t.client.call("GET", USERS, tok, params={"limit": 1})).body["total"]
    add_users = max(0, scale.admin_users - users_now)
    progress = t.progress("provisioning users", add_users)

    async def put_user(i: int) -> None:
        user_id = f"@bench_list{i:06d}:localhost"
        await t.client.call("PUT", f"{USERS}/{q(user_id)}", tok,
                            json={"displayname": f"Bench List {i}"})
        progress.step()

    await bounded(add_users, 8, put_user)
    rooms_now = (await t.client.call("GET", ROOMS, tok, params={"limit": 1})).body["total_rooms"]
    add_rooms = max(0, scale.admin_rooms - rooms_now)
    progress = t.progress("creating rooms", add_rooms)

    async def create(i: int) -> None:
        await t.client.create_room(admin, preset="private_chat", name=f"bench list {i}")
        progress.step()

    await bounded(add_rooms, 4, create)

    page = {"limit": scale.admin_page}
    term = f"list{max(add_users // 2, 1) // 10:05d}"
    first = await _median(t, USERS, tok, {"from": 0, **page})
    search = await _median(t, USERS, tok, {"name": term, **page})
    found = (await t.client.call("GET", USERS, tok, params={"name": term, **page})).body
    user_pages, user_total_s, user_count = await _walk(t, USERS, tok, page, "next_token",
                                                       "users")
    rooms_first = await _median(t, ROOMS, tok, {"from": 0, **page})
    room_pages, room_total_s, room_count = await _walk(t, ROOMS, tok, page, "next_batch",
                                                       "rooms")
    return Outcome(
        {
            "users_first_ms": first,
            "users_search_ms": search,
            "users_walk_ms_per_page": user_total_s * 1000 / max(user_pages, 1),
            "rooms_first_ms": rooms_first,
            "rooms_walk_ms_per_page": room_total_s * 1000 / max(room_pages, 1),
        },
        {
            "users": user_count, "user_pages": user_pages, "users_walk_s": user_total_s,
            "search_term": term, "search_hits": len(found.get("users", [])),
            "rooms": room_count, "room_pages": room_pages, "rooms_walk_s": room_total_s,
            "page": scale.admin_page,
        },
    )


async def _median(t: Target, path: str, tok: str, params: dict[str, Any]) -> float:
    return statistics.median([(await t.client.call("GET", path, tok, params=params)).ms
                              for _ in range(5)])


async def _walk(t: Target, path: str, tok: str, page: dict[str, Any], next_key: str,
                items: str) -> tuple[int, float, int]:
    """Follow the pagination token to the end: (pages, seconds, items seen)."""
    params: dict[str, Any] = dict(page)
    pages = count = 0
    start = time.perf_counter()
    while pages < 1_000_000:
        body = (await t.client.call("GET", path, tok, params=params)).body
        pages += 1
        count += len(body.get(items, []))
        token = body.get(next_key)
        if token is None or not body.get(items):
            break
        params["from"] = token
    return pages, time.perf_counter() - start, count


SCENARIO = Scenario(
    name="admin_lists",
    title="Admin lists (v2/users, v1/rooms)",
    metrics=[
        Metric("users_first_ms", "v2/users first page", "ms", "lower"),
        Metric("users_search_ms", "v2/users search", "ms", "lower"),
        Metric("users_walk_ms_per_page", "v2/users all pages, per page", "ms", "lower"),
        Metric("rooms_first_ms", "v1/rooms first page", "ms", "lower"),
        Metric("rooms_walk_ms_per_page", "v1/rooms all pages, per page", "ms", "lower"),
    ],
    requires=[
        ("GET", USERS),
        ("PUT", f"{USERS}/@probe:localhost"),
        ("GET", ROOMS),
        ("POST", "/_matrix/client/v3/createRoom"),
    ],
    run=run,
)
