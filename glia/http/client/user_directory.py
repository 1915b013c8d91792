"""``POST /user_directory/search``."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.protocol.canonical_json import NonNegativeInt
from glia.services.user_directory import DirectorySearchResult

routes = RouteGroup()


class UserDirectorySearchBody(msgspec.Struct):
    search_term: str
    limit: NonNegativeInt = 10


class DirectoryUser(msgspec.Struct, omit_defaults=True):
    user_id: str
    display_name: str | None = None
    avatar_url: str | None = None


class UserDirectorySearchResponse(msgspec.Struct):
    results: list[DirectoryUser]
    limited: bool

    @classmethod
    def of(cls, found: DirectorySearchResult) -> UserDirectorySearchResponse:
        return cls([DirectoryUser(e.user_id, e.display_name, e.avatar_url)
                    for e in found.results], found.limited)


@routes.post(*client_paths("/user_directory/search"), auth=Auth.USER, ratelimit="default",
             body=UserDirectorySearchBody)
async def search(req: Request[UserDirectorySearchBody]) -> UserDirectorySearchResponse:
    found = await req.services.user_directory.search(
        req.requester.user_id, req.body.search_term, req.body.limit)
    return UserDirectorySearchResponse.of(found)
