"""The rest of Synapse's admin API that makes sense without federation: a user's sent
invites and joined rooms since a time, rate-limit overrides, experimental-feature flags,
the quarantine change feed, the admin space hierarchy, and the spec's suspension
endpoints (``/_matrix/client/v1/admin/suspend/{userId}`` and ``…/admin/lock/{userId}``)
over the same suspension and lock flags as Synapse's ``/v1/suspend`` and ``/v2/users``."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, client_paths
from glia.services.admin.experimental import FeatureFlags
from glia.services.admin.ratelimit import OverrideRequest
from glia.services.admin.statistics import (
    QUARANTINE_PAGE,
    JoinedRoomCount,
    QuarantineChanges,
    SentInviteCount,
)
from glia.services.admin.user_requests import SpecLock, SpecSuspension
from glia.services.spaces import Hierarchy

routes = RouteGroup()


def _from_ts(req: Request) -> int:
    value = req.query_int("from_ts", required=True, clamp=False)
    assert value is not None
    return value


# -- a user's activity since a time -------------------------------------------------------

@routes.get(*admin_paths("/v1/users/{userId}/sent_invite_count"), auth=Auth.ADMIN)
async def sent_invite_count(req: Request) -> SentInviteCount:
    return await req.services.statistics_admin.sent_invite_count(req.path("userId"),
                                                                 _from_ts(req))


@routes.get(*admin_paths("/v1/users/{userId}/cumulative_joined_room_count"),
            auth=Auth.ADMIN)
async def cumulative_joined_room_count(req: Request) -> JoinedRoomCount:
    return await req.services.statistics_admin.cumulative_joined_room_count(
        req.path("userId"), _from_ts(req))


# -- rate-limit overrides ---------------------------------------------------------------------

@routes.get(*admin_paths("/v1/users/{userId}/override_ratelimit"), auth=Auth.ADMIN)
async def get_override_ratelimit(req: Request) -> dict[str, Any]:
    return await req.services.ratelimit_overrides.get(req.path("userId"))


@routes.post(*admin_paths("/v1/users/{userId}/override_ratelimit"), auth=Auth.ADMIN,
             audit="users.override_ratelimit", body=OverrideRequest, empty_body=True)
async def set_override_ratelimit(req: Request[OverrideRequest]) -> dict[str, Any]:
    return await req.services.ratelimit_overrides.set(req.uow, req.path("userId"), req.body)


@routes.delete(*admin_paths("/v1/users/{userId}/override_ratelimit"), auth=Auth.ADMIN,
               audit="users.delete_ratelimit_override")
async def delete_override_ratelimit(req: Request) -> dict[str, Any]:
    return await req.services.ratelimit_overrides.delete(req.uow, req.path("userId"))


# -- experimental features --------------------------------------------------------------------

@routes.get(*admin_paths("/v1/experimental_features/{userId}"), auth=Auth.ADMIN)
async def get_experimental_features(req: Request) -> dict[str, Any]:
    return await req.services.experimental_features.get(req.path("userId"))


@routes.put(*admin_paths("/v1/experimental_features/{userId}"), auth=Auth.ADMIN,
            audit="users.set_experimental_features", body=FeatureFlags)
async def put_experimental_features(req: Request[FeatureFlags]) -> dict[str, Any]:
    return await req.services.experimental_features.put(req.uow, req.path("userId"),
                                                        req.body)


# -- media quarantine feed --------------------------------------------------------------------

@routes.get(*admin_paths("/v1/media/quarantine_changes"), auth=Auth.ADMIN)
async def quarantine_changes(req: Request) -> QuarantineChanges:
    limit = req.query_int("limit", QUARANTINE_PAGE)
    assert limit is not None
    return await req.services.statistics_admin.quarantine_changes(
        req.query_int("from", 0) or 0, limit)


# -- space hierarchy --------------------------------------------------------------------------

@routes.get(*admin_paths("/v1/rooms/{roomId}/hierarchy"), auth=Auth.ADMIN)
async def room_hierarchy(req: Request) -> Hierarchy:
    """Every local room of the space tree, whatever the admin's membership."""
    return await req.services.spaces.hierarchy(
        req.requester.user_id, req.path("roomId"), max_depth=req.query_int("max_depth"),
        limit=req.query_int("limit"), from_token=req.query("from"), admin=True)


# -- the spec's suspension endpoint -----------------------------------------------------------

@routes.get(*client_paths("/admin/suspend/{userId}", ("v1",)), auth=Auth.ADMIN)
async def get_suspended(req: Request) -> SpecSuspension:
    user = await req.services.user_admin.spec_target(req.path("userId"))
    return SpecSuspension(user.suspended)


@routes.put(*client_paths("/admin/suspend/{userId}", ("v1",)), auth=Auth.ADMIN,
            audit="users.suspend", body=SpecSuspension)
async def put_suspended(req: Request[SpecSuspension]) -> SpecSuspension:
    await req.services.user_admin.spec_suspend(req.uow, req.path("userId"),
                                               req.body.suspended)
    return SpecSuspension(req.body.suspended)


@routes.get(*client_paths("/admin/lock/{userId}", ("v1",)), auth=Auth.ADMIN)
async def get_locked(req: Request) -> SpecLock:
    user = await req.services.user_admin.spec_target(req.path("userId"))
    return SpecLock(user.locked)


@routes.put(*client_paths("/admin/lock/{userId}", ("v1",)), auth=Auth.ADMIN,
            audit="users.lock", body=SpecLock)
async def put_locked(req: Request[SpecLock]) -> SpecLock:
    await req.services.user_admin.spec_lock(req.uow, req.path("userId"), req.body.locked)
    return SpecLock(req.body.locked)
