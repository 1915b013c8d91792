"""The rest of Synapse's admin API that makes sense without federation: a user's sent
invites and joined rooms since a time, rate-limit overrides, experimental-feature flags,
the quarantine change feed, the admin space hierarchy, and the spec's suspension
endpoints (``/_matrix/client/v1/admin/suspend/{userId}`` and ``…/admin/lock/{userId}``)
over the same suspension and lock flags as Synapse's ``/v1/suspend`` and ``/v2/users``."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.errors import MatrixError
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, client_paths
from glia.ids import InvalidId, parse_user_id
from glia.services.admin.statistics import QUARANTINE_PAGE

routes = RouteGroup()


def _from_ts(req: Request) -> int:
    value = req.query_int("from_ts", required=True, clamp=False)
    assert value is not None
    return value


# -- a user's activity since a time -------------------------------------------------------

@routes.get(*admin_paths("/v1/users/{userId}/sent_invite_count"), auth=Auth.ADMIN)
async def sent_invite_count(req: Request) -> dict[str, Any]:
    return await req.services.statistics_admin.sent_invite_count(req.path("userId"),
                                                                 _from_ts(req))


@routes.get(*admin_paths("/v1/users/{userId}/cumulative_joined_room_count"),
            auth=Auth.ADMIN)
async def cumulative_joined_room_count(req: Request) -> dict[str, Any]:
    return await req.services.statistics_admin.cumulative_joined_room_count(
        req.path("userId"), _from_ts(req))


# -- rate-limit overrides ---------------------------------------------------------------------

@routes.get(*admin_paths("/v1/users/{userId}/override_ratelimit"), auth=Auth.ADMIN)
async def get_override_ratelimit(req: Request) -> dict[str, Any]:
    return await req.services.ratelimit_overrides.get(req.path("userId"))


@routes.post(*admin_paths("/v1/users/{userId}/override_ratelimit"), auth=Auth.ADMIN,
             audit="users.override_ratelimit")
async def set_override_ratelimit(req: Request) -> dict[str, Any]:
    return await req.services.ratelimit_overrides.set(req.path("userId"),
                                                      req.json_or_empty(), req.audit)


@routes.delete(*admin_paths("/v1/users/{userId}/override_ratelimit"), auth=Auth.ADMIN,
               audit="users.delete_ratelimit_override")
async def delete_override_ratelimit(req: Request) -> dict[str, Any]:
    return await req.services.ratelimit_overrides.delete(req.path("userId"), req.audit)


# -- experimental features --------------------------------------------------------------------

@routes.get(*admin_paths("/v1/experimental_features/{userId}"), auth=Auth.ADMIN)
async def get_experimental_features(req: Request) -> dict[str, Any]:
    return await req.services.experimental_features.get(req.path("userId"))


@routes.put(*admin_paths("/v1/experimental_features/{userId}"), auth=Auth.ADMIN,
            audit="users.set_experimental_features")
async def put_experimental_features(req: Request) -> dict[str, Any]:
    return await req.services.experimental_features.put(req.path("userId"), req.json(),
                                                        req.audit)


# -- media quarantine feed --------------------------------------------------------------------

@routes.get(*admin_paths("/v1/media/quarantine_changes"), auth=Auth.ADMIN)
async def quarantine_changes(req: Request) -> dict[str, Any]:
    """Synapse pages by 100; Glia also takes a smaller ``limit``."""
    from_id = req.query_int("from", 0) or 0
    limit = req.query_int("limit", QUARANTINE_PAGE)
    if limit is None or limit < 1:
        raise errors.invalid_param("Query parameter limit must be greater than 0")
    return await req.services.statistics_admin.quarantine_changes(
        from_id, min(limit, QUARANTINE_PAGE))


# -- space hierarchy --------------------------------------------------------------------------

@routes.get(*admin_paths("/v1/rooms/{roomId}/hierarchy"), auth=Auth.ADMIN)
async def room_hierarchy(req: Request) -> dict[str, Any]:
    """Every local room of the space tree, whatever the admin's membership."""
    return await req.services.spaces.hierarchy(
        req.requester.user_id, req.path("roomId"), max_depth=req.query_int("max_depth"),
        limit=req.query_int("limit"), from_token=req.query("from"), admin=True)


# -- the spec's suspension endpoint -----------------------------------------------------------

async def _suspend_target(req: Request) -> dict[str, Any]:
    """The target as the spec's errors want it: local (else ``400 M_INVALID_PARAM``),
    existing and active (else ``404``), not an admin (else ``403``)."""
    user_id = req.path("userId")
    try:
        parsed = parse_user_id(user_id)
    except InvalidId as e:
        raise errors.invalid_param(str(e)) from e
    if parsed.domain != req.services.config.server_name:
        raise errors.invalid_param("User does not belong to the local server.")
    try:
        user = await req.services.user_admin.get(user_id)
    except MatrixError as e:
        if e.status == 404:
            raise errors.not_found("User not found.") from e
        raise
    if user["deactivated"]:
        raise errors.not_found("User not found.")
    if user["admin"]:
        raise errors.forbidden("The target user is a server administrator.")
    return user


@routes.get(*client_paths("/admin/suspend/{userId}", ("v1",)), auth=Auth.ADMIN)
async def get_suspended(req: Request) -> dict[str, Any]:
    return {"suspended": bool((await _suspend_target(req))["suspended"])}


@routes.put(*client_paths("/admin/suspend/{userId}", ("v1",)), auth=Auth.ADMIN,
            audit="users.suspend")
async def put_suspended(req: Request) -> dict[str, Any]:
    body = req.json()
    if "suspended" not in body:
        raise errors.missing_param("Missing params: ['suspended']")
    suspended = body["suspended"]
    if not isinstance(suspended, bool):
        raise errors.bad_json("Param 'suspended' must be a boolean")
    if req.path("userId") == req.requester.user_id:
        raise errors.forbidden("You may not suspend yourself.")
    await _suspend_target(req)
    await req.services.user_admin.suspend(req.path("userId"), {"suspend": suspended},
                                          req.audit)
    return {"suspended": suspended}


@routes.get(*client_paths("/admin/lock/{userId}", ("v1",)), auth=Auth.ADMIN)
async def get_locked(req: Request) -> dict[str, Any]:
    return {"locked": bool((await _suspend_target(req))["locked"])}


@routes.put(*client_paths("/admin/lock/{userId}", ("v1",)), auth=Auth.ADMIN,
            audit="users.lock")
async def put_locked(req: Request) -> dict[str, Any]:
    """A locked account cannot log in and its sessions answer ``401 M_USER_LOCKED``."""
    body = req.json()
    if "locked" not in body:
        raise errors.missing_param("Missing params: ['locked']")
    locked = body["locked"]
    if not isinstance(locked, bool):
        raise errors.bad_json("Param 'locked' must be a boolean")
    if req.path("userId") == req.requester.user_id:
        raise errors.forbidden("You may not lock yourself.")
    await _suspend_target(req)
    await req.services.user_admin.put(req.requester, req.path("userId"), {"locked": locked},
                                      req.audit)
    return {"locked": locked}
