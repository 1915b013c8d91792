"""User-interactive authentication (the spec's UIA): flows, sessions, stages.

A session is bound to a *scope* (the operation it authorizes) so that completing
password auth for "delete device A" cannot be replayed to deactivate the account.
Sessions live in the database so any process can continue one.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from glia import errors
from glia.clock import now_ms
from glia.errors import MatrixError
from glia.storage import Storage

SESSION_LIFETIME_MS = 30 * 60 * 1000

DUMMY = "m.login.dummy"
PASSWORD = "m.login.password"
REGISTRATION_TOKEN = "m.login.registration_token"
EMAIL_IDENTITY = "m.login.email.identity"



class UserIdentifier(msgspec.Struct):
    """Who is logging in (the spec's ``identifier``): ``m.id.user`` names a user;
    ``m.id.thirdparty`` (medium, address) and ``m.id.phone`` (country, phone) name a
    3PID on the user's account (this server looks up ``m.id.thirdparty`` only)."""

    type: str
    user: str | None = None
    medium: str | None = None
    address: str | None = None
    country: str | None = None
    phone: str | None = None


class StageAuth(msgspec.Struct):
    """An ``auth`` dict: the stage being attempted (none when the client only continues
    a session) and the session. The model for an unknown stage type too."""

    type: str | None = None
    session: str | None = None


class DummyAuth(StageAuth):
    """``m.login.dummy``: passes by being sent."""


class PasswordAuth(StageAuth):
    """``m.login.password``: the user (``identifier``, or the legacy ``user``) and the
    password."""

    identifier: UserIdentifier | None = None
    user: str | None = None
    password: str | None = None


class RegistrationTokenAuth(StageAuth):
    """``m.login.registration_token``. ``token`` is checked by the stage, not the
    decoder: Synapse reports a missing or non-string token as a failed stage (a 401
    inside the flow, which the client shows and may retry), not as a bad request."""

    token: Any = msgspec.UNSET


class ThreepidCreds(msgspec.Struct):
    """A 3PID validation session: its ID and client secret (the identity server fields
    are accepted and unused: this server validates addresses itself)."""

    sid: str
    client_secret: str
    id_server: str | None = None
    id_access_token: str | None = None


class EmailIdentityAuth(StageAuth):
    """``m.login.email.identity``: a validated email session's credentials."""

    threepid_creds: ThreepidCreds | None = None
    #: The same, as r0 clients spell it.
    threePidCreds: ThreepidCreds | None = None

    @property
    def creds(self) -> ThreepidCreds | None:
        return self.threepid_creds or self.threePidCreds


#: The model of each stage type's ``auth`` dict (others decode as :class:`StageAuth`).
STAGE_MODELS: dict[str, type[StageAuth]] = {
    DUMMY: DummyAuth, PASSWORD: PasswordAuth, REGISTRATION_TOKEN: RegistrationTokenAuth,
    EMAIL_IDENTITY: EmailIdentityAuth,
}


def stage_model(stage_type: object) -> type[StageAuth]:
    """The model to decode an ``auth`` dict with, by its ``type``."""
    return STAGE_MODELS.get(stage_type, StageAuth) if isinstance(stage_type, str) else StageAuth


#: A stage checker: given the decoded ``auth`` dict, return normally if it passes, raise
#: if not.
StageChecker = Callable[[Any], Awaitable[None]]


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
        auth: StageAuth | None,
        *,
        scope: str,
        flows: list[list[str]],
        checkers: Mapping[str, StageChecker],
        user_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        remember: dict[str, Any] | None = None,
    ) -> None:
        """Return once some flow is complete; otherwise raise :class:`UiaRequired`.
        ``remember``: what the request asked for, kept with the session (read back with
        :meth:`remembered`) so later requests of the session may leave it out."""
        session_id = auth.session if auth is not None else None
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
        if remember is not None:
            await self._storage.uia.set_params(session_id, remember)

        failure: MatrixError | None = None
        stage = auth.type if auth is not None else None
        if stage is not None:
            allowed = {s for flow in flows for s in flow}
            if stage not in allowed or stage not in checkers:
                failure = MatrixError(400, "M_UNRECOGNIZED", f"Unrecognised login type {stage}")
            else:
                try:
                    await checkers[stage](auth)
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

    async def remembered(self, session_id: str | None) -> dict[str, Any]:
        """What a live session's requests asked for (empty for no or an unknown
        session: :meth:`authenticate` refuses an unknown one)."""
        if not session_id:
            return {}
        session = await self._storage.uia.get(session_id)
        if session is None or session.created_ts < now_ms() - SESSION_LIFETIME_MS:
            return {}
        return dict(session.params or {})
