"""One server under test as the scenarios use it: a client, an admin, users and rooms.

Fixtures that several scenarios need (a pool of registered users, the big room that
``/messages`` pages through and the purge then deletes) are built once per server and
reused, so both servers see the same sequence of work.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bench.client import Client, User, q
from bench.memory import Sampler
from bench.scale import Scale
from bench.servers import Server

T = TypeVar("T")

PASSWORD = "bench-password-0123456789"
_WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
    "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "matrix", "server",
    "room", "event", "message", "sync", "purge", "index", "search", "admin", "benchmark",
    "latency", "memory", "python", "synapse", "glia", "dendrite", "conduit", "federation",
    "state", "timeline",
)


class Progress:
    """Prints ``[server] what done/total`` now and then, so a long run shows it is alive."""

    def __init__(self, server: str, what: str, total: int, every_s: float = 5.0) -> None:
        self.prefix = f"    [{server}] {what}"
        self.total = total
        self.done = 0
        self.every_s = every_s
        self.start = self.last = time.monotonic()

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            print(f"{self.prefix}: {self.done}/{self.total} ({rate:.0f}/s)", flush=True)


async def bounded(count: int, concurrency: int, fn: Callable[[int], Awaitable[T]]) -> list[T]:
    """Run ``fn(0..count-1)`` with at most ``concurrency`` in flight; results in order."""
    results: list[T | None] = [None] * count
    indices = iter(range(count))

    async def worker() -> None:
        for i in indices:
            results[i] = await fn(i)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, count)))))
    return results  # type: ignore[return-value]


def text(rng: random.Random, n: int) -> str:
    """A message body of real words, so full-text indexing has something to chew on."""
    return f"message {n}: " + " ".join(rng.choices(_WORDS, k=rng.randint(4, 16)))


class Target:
    def __init__(self, server: Server, scale: Scale, sampler: Sampler) -> None:
        self.server = server
        self.name = server.name
        self.scale = scale
        self.sampler = sampler
        self.client = Client(server.url)
        self.admin: User | None = None
        self.rng = random.Random(7)
        self._names = itertools.count()
        self._pool: list[User] = []
        self.big_room: tuple[str, User] | None = None
        #: Messages this run put in the database (not counting purged ones).
        self.messages_written = 0
        #: User IDs created without a password (``PUT v2/users``), for bulk joins/invites.
        self._provisioned: list[str] = []

    async def close(self) -> None:
        await self.client.close()

    def progress(self, what: str, total: int) -> Progress:
        return Progress(self.name, what, total)

    async def register(self, prefix: str, admin: bool = False) -> tuple[User, float]:
        localpart = f"bench_{prefix}{next(self._names):06d}"
        return await self.client.register(self.server.shared_secret, localpart, PASSWORD,
                                          admin=admin)

    async def get_admin(self) -> User:
        if self.admin is None:
            self.admin, _ = await self.register("admin", admin=True)
        return self.admin

    def give(self, users: list[User]) -> None:
        """Hand registered, unused users to the pool for later scenarios."""
        self._pool.extend(users)

    async def fresh_users(self, n: int) -> list[User]:
        """``n`` users no other scenario has touched (registering more if needed)."""
        taken, self._pool = self._pool[:n], self._pool[n:]
        more = await bounded(n - len(taken), self.scale.register_concurrency,
                             lambda _: self.register("u"))
        return taken + [u for u, _ in more]

    async def provisioned(self, n: int) -> list[str]:
        """The IDs of ``n`` accounts created password-less with ``PUT v2/users/{id}`` (the
        cheap way admin tools provision accounts: no bcrypt), shared by the scale
        scenarios; they are joined and invited by the admin, never log in."""
        missing = n - len(self._provisioned)
        if missing > 0:
            tok = (await self.get_admin()).access_token
            progress = self.progress("provisioning members", missing)
            first = len(self._provisioned)

            async def put(i: int) -> str:
                user_id = f"@bench_m{first + i:06d}:localhost"
                await self.client.call("PUT", f"/_synapse/admin/v2/users/{q(user_id)}", tok,
                                       json={"displayname": f"Member {first + i}"})
                progress.step()
                return user_id

            self._provisioned += await bounded(missing, 8, put)
        return self._provisioned[:n]

    async def delete_room(self, room_id: str) -> float:
        """``DELETE v2/rooms/{id}`` with purge, polled every 25 ms to ``complete``:
        seconds from the request to the first poll that says so."""
        tok = (await self.get_admin()).access_token
        start = time.perf_counter()
        body = (await self.client.call("DELETE", f"/_synapse/admin/v2/rooms/{q(room_id)}",
                                       tok, json={"purge": True, "block": False})).body
        delete_id = body["delete_id"]
        while True:
            status = (await self.client.call(
                "GET", f"/_synapse/admin/v2/rooms/delete_status/{q(delete_id)}", tok)).body
            if status.get("status") == "complete":
                return time.perf_counter() - start
            if status.get("status") == "failed":
                raise RuntimeError(f"room delete failed: {status.get('error', status)}")
            await asyncio.sleep(0.025)

    async def send_many(self, rooms: list[str], senders: list[User], count: int,
                        concurrency: int, what: str) -> list[float]:
        """Send ``count`` messages: sender ``i`` posts its share round-robin over ``rooms``.

        Returns every send's latency in ms.
        """
        progress = self.progress(what, count)
        share = [count // len(senders) + (1 if i < count % len(senders) else 0)
                 for i in range(len(senders))]
        latencies: list[float] = []
        sem = asyncio.Semaphore(concurrency)

        async def sender(i: int) -> None:
            async with sem:
                for k in range(share[i]):
                    room = rooms[(i + k) % len(rooms)]
                    t = await self.client.send_text(senders[i], room, text(self.rng, k))
                    latencies.append(t.ms)
                    progress.step()

        await asyncio.gather(*(sender(i) for i in range(len(senders))))
        self.messages_written += count
        return latencies

    async def get_big_room(self) -> tuple[str, User]:
        """The room of ``big_room_events`` messages (built once, used by /messages, purge)."""
        if self.big_room is None:
            users = await self.fresh_users(4)
            room = await self.client.create_room(users[0], preset="public_chat",
                                                 name="bench big room")
            for u in users[1:]:
                await self.client.join(u, room)
            await self.send_many([room], users, self.scale.big_room_events, 4,
                                 "filling the big room")
            self.big_room = (room, users[0])
        return self.big_room

    def take_big_room(self) -> None:
        """Forget the big room (it was deleted)."""
        self.big_room = None
        self.messages_written -= self.scale.big_room_events
