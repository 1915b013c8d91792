"""The ``auth`` dict of user-interactive authentication, decoded by its stage type.

Routes behind UIA declare ``auth`` as a JSON object in their request model; which
fields it has depends on its ``type`` (``m.login.password`` carries a user and a
password, ``m.login.registration_token`` a token, …), so it is decoded here, once the
type is known, into the stage's model from ``services.uia``. Field errors name the field
under ``auth``, like every other decoding error.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from glia.http.decoding import to_model
from glia.services.uia import StageAuth, stage_model


@cache
def _wrapper(model: type[StageAuth]) -> type[msgspec.Struct]:
    # Decoding {"auth": …} rather than the dict itself makes errors say ``auth.<field>``.
    return msgspec.defstruct(f"AuthOf{model.__name__}", [("auth", model)])


def stage_auth(auth: dict[str, Any] | None) -> StageAuth | None:
    """The typed ``auth`` of a request (``None`` when the client sent none)."""
    if auth is None:
        return None
    decoded: Any = to_model({"auth": auth}, _wrapper(stage_model(auth.get("type"))))
    result: StageAuth = decoded.auth
    return result
