"""The user a request names, checked the way Synapse's admin API checks it: a malformed
ID is ``400 M_INVALID_PARAM``; a remote one, where only local users make sense,
``400 M_UNKNOWN`` with the endpoint's own message; an unknown one ``404 M_NOT_FOUND``."""

from __future__ import annotations

from glia import errors
from glia.errors import MatrixError
from glia.ids import InvalidId, UserId, parse_user_id
from glia.storage import Storage


def parse_user(user_id: str) -> UserId:
    try:
        return parse_user_id(user_id)
    except InvalidId as e:
        raise errors.invalid_param(str(e)) from e


def is_local(user_id: str, server_name: str) -> bool:
    """Whether ``user_id`` is a well-formed ID of this server (malformed: not local)."""
    try:
        return parse_user_id(user_id).domain == server_name
    except InvalidId:
        return False


def local_user(user_id: str, server_name: str, message: str) -> UserId:
    parsed = parse_user(user_id)
    if parsed.domain != server_name:
        raise MatrixError(400, "M_UNKNOWN", message)
    return parsed


async def existing_local_user(storage: Storage, user_id: str, server_name: str,
                              message: str) -> UserId:
    parsed = local_user(user_id, server_name, message)
    if await storage.users.get(user_id) is None:
        raise errors.not_found("User not found")
    return parsed
