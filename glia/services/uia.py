"""User-interactive authentication (the spec's UIA): flows, sessions, stages.

A session is bound to a *scope* (the operation it authorizes) so that completing
password auth for "delete device A" cannot be replayed to deactivate the account.
Sessions live in the database so any process can continue one.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.errors import MatrixError
from glia.storage import Storage

SESSION_LIFETIME_MS = 30 * 60 * 1000

DUMMY = "m.login.dummy"
PASSWORD = "m.login.password"
REGISTRATION_TOKEN = "m.login.registration_token"

#: A stage checker: given the ``auth`` dict, return normally if it passes, raise if not.
StageChecker = Callable[[Mapping[str, Any]], Awaitable[None]]


class UiaRequired(MatrixError):
    """401 with the flows the client must complete; no errcode unless a stage failed."""

    def __init__(
        self,
        flows: list[list[str]],
        session: str,
        completed: list[str],
        params: Mapping[str, Any] | None = None,
        failure: MatrixError | None = None,
    ) -> None:
        super().__init__(401, failure.errcode if failure else "", failure.error if failure else "")
        self.body: dict[str, Any] = {
            "flows": [{"stages": f} for f in flows],
            "params": dict(params or {}),
            "session": session,
        }
        if completed:
            self.body["completed"] = completed
        if failure is not None:
            self.body["errcode"] = failure.errcode
            self.body["error"] = failure.error

    def to_json(self) -> dict[str, Any]:
        return self.body


class UiaService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def authenticate(
        self,
        body: Mapping[str, Any],
        *,
        scope: str,
        flows: list[list[str]],
        checkers: Mapping[str, StageChecker],
        user_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Return once some flow is complete; otherwise raise :class:`UiaRequired`."""
        auth = body.get("auth")
        if auth is not None and not isinstance(auth, Mapping):
            raise errors.bad_json("auth must be an object")
        session_id = auth.get("session") if auth else None
        if session_id is not None and not isinstance(session_id, str):
            raise errors.bad_json("auth.session must be a string")
        now = now_ms()
        completed: list[str] = []
        if session_id:
            session = await self._storage.uia.get(session_id)
            if session is None or session.created_ts < now - SESSION_LIFETIME_MS:
                raise MatrixError(400, "M_UNKNOWN", "Unknown or expired UIA session")
            if session.scope != scope or session.user_id != user_id:
                raise errors.forbidden(
                    "Requested operation has changed during the UI authentication session."
                )
            completed = list(session.completed)
        else:
            session_id = secrets.token_urlsafe(24)
            await self._storage.uia.sweep(now - SESSION_LIFETIME_MS)
            await self._storage.uia.create(session_id, scope, user_id, now)

        failure: MatrixError | None = None
        stage = auth.get("type") if auth else None
        if stage is not None:
            allowed = {s for flow in flows for s in flow}
            if not isinstance(stage, str) or stage not in allowed or stage not in checkers:
                failure = MatrixError(400, "M_UNRECOGNIZED", f"Unrecognised login type {stage}")
            else:
                try:
                    await checkers[stage](auth or {})
                except MatrixError as e:
                    if e.status not in (401, 403):
                        raise  # a malformed auth dict is a bad request, not a failed stage
                    failure = e
                else:
                    if stage not in completed:
                        completed.append(stage)
                        await self._storage.uia.set_completed(session_id, completed)

        if any(all(s in completed for s in flow) for flow in flows):
            await self._storage.uia.delete(session_id)
            return
        raise UiaRequired(flows, session_id, completed, params, failure)
