"""Questions our users ask about other servers, answered by asking those servers:
remote profiles (``query/profile``), remote room aliases (``query/directory``) and
remote room directories (``publicRooms``).

A remote server's error comes back as it said it (a ``404 M_NOT_FOUND`` stays one);
a server that cannot be reached or answers nonsense is ``502``, as in Synapse. As in
Synapse too, these lookups are tried whatever the destination's back-off and their
failures do not count toward it (see ``backoff``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.errors import MatrixError
from glia.ids import is_valid_room_id, is_valid_server_name
from glia.services.directory import AliasTarget, PublicRoom, PublicRooms
from glia.services.federation.client import FederationClient, FederationError, RemoteError
from glia.storage.profile import Profile


def _unavailable(server: str, why: str) -> MatrixError:
    return MatrixError(502, "M_UNKNOWN", f"Failed to query {server}: {why}")


class RemoteQueries:
    def __init__(self, client: FederationClient) -> None:
        self._client = client

    async def _ask(self, server: str, path: str, query: dict[str, str] | None = None,
                   content: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET (POST with ``content``) ``path`` of ``server``: its JSON object."""
        try:
            answer = await self._client.request(server, "GET" if content is None else "POST",
                                                path, query=query, content=content,
                                                ignore_backoff=True)
        except RemoteError as e:
            if 400 <= e.status < 500 and e.errcode:
                raise MatrixError(e.status, e.errcode, e.error or "") from e
            raise _unavailable(server, str(e)) from e
        except FederationError as e:
            raise _unavailable(server, str(e)) from e
        except ValueError as e:
            raise errors.invalid_param(str(e)) from e
        if not isinstance(answer.body, dict):
            raise _unavailable(server, "the answer is not a JSON object")
        return answer.body

    async def profile(self, user_id: str, server: str) -> Profile:
        """The profile of ``user_id``, a user of ``server``."""
        body = await self._ask(server, "/_matrix/federation/v1/query/profile",
                               {"user_id": user_id})
        name, avatar = body.get("displayname"), body.get("avatar_url")
        return Profile(name if isinstance(name, str) else None,
                       avatar if isinstance(avatar, str) else None)

    async def alias(self, alias: str, server: str) -> AliasTarget:
        """Where ``alias``, an alias on ``server``, points."""
        body = await self._ask(server, "/_matrix/federation/v1/query/directory",
                               {"room_alias": alias})
        room_id, servers = body.get("room_id"), body.get("servers")
        if not isinstance(room_id, str) or not is_valid_room_id(room_id) \
                or not isinstance(servers, list):
            raise _unavailable(server, "the answer has no valid room_id and servers")
        return AliasTarget(room_id, [s for s in servers
                                     if isinstance(s, str) and is_valid_server_name(s)])

    async def public_rooms(self, server: str, limit: int | None, since: str | None,
                           search: str | None) -> PublicRooms:
        """``server``'s published rooms: GET, or POST with a search filter (as Synapse
        asks). Entries that are not valid room entries are left out."""
        path = "/_matrix/federation/v1/publicRooms"
        if search is None:
            query = {k: str(v) for k, v in (("limit", limit), ("since", since))
                     if v is not None}
            body = await self._ask(server, path, query)
        else:
            content: dict[str, Any] = {"filter": {"generic_search_term": search}}
            if limit is not None:
                content["limit"] = limit
            if since is not None:
                content["since"] = since
            body = await self._ask(server, path, content=content)
        chunk = body.get("chunk")
        if not isinstance(chunk, list):
            raise _unavailable(server, "the answer has no chunk")
        rooms = []
        for entry in chunk:
            try:
                rooms.append(msgspec.convert(entry, PublicRoom))
            except msgspec.ValidationError:
                continue
        total = body.get("total_room_count_estimate")
        out = PublicRooms(chunk=rooms, total_room_count_estimate=total
                          if isinstance(total, int) and not isinstance(total, bool)
                          else len(rooms))
        for token in ("next_batch", "prev_batch"):
            if isinstance(body.get(token), str):
                setattr(out, token, body[token])
        return out
