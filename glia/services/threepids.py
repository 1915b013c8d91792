"""3PIDs on accounts: email validation, adding, listing, removing, identity-server binds.

Validation is the server's own (Synapse's default since identity servers stopped
sending mail for homeservers): ``requestToken`` makes a session and mails a token with a
link; following the link (or submitting the token) validates the session; the session
then proves the address — to add it to an account (``/account/3pid/add``, behind the
password), to register with it, or to reset the password of the account that has it
(the ``m.login.email.identity`` UIA stage). Phone numbers cannot be validated (no SMS
sender): their ``requestToken`` is ``M_THREEPID_DENIED``, as Synapse answers without one.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import msgspec

from glia import errors
from glia.clock import Clock
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import random_string
from glia.protocol.threepids import canonical_address, canonical_email
from glia.services.account import AccountService, PasswordChange
from glia.services.auth import AuthService, Requester
from glia.services.mailer import Mailer
from glia.services.threepid_bindings import ThreepidBindings
from glia.services.uia import (
    EMAIL_IDENTITY,
    EmailIdentityAuth,
    StageAuth,
    StageChecker,
    ThreepidCreds,
    UiaService,
)
from glia.storage import Storage
from glia.storage.threepids import ThreepidSession

__all__ = ["EMAIL_IDENTITY", "PURPOSES", "ThreepidService", "TokenRequest"]

logger = logging.getLogger(__name__)

REGISTER, ADD, PASSWORD_RESET = "register", "add", "password_reset"
PURPOSES = (REGISTER, ADD, PASSWORD_RESET)
#: The spec's client_secret grammar.
_CLIENT_SECRET = re.compile(r"[0-9a-zA-Z.=_-]{1,255}")
#: Where each purpose's mailed link leads (Synapse's paths).
_LINKS = {
    REGISTER: "_matrix/client/unstable/registration/email/submit_token",
    ADD: "_matrix/client/unstable/add_threepid/email/submit_token",
    PASSWORD_RESET: "_synapse/client/password_reset/email/submit_token",
}
_SUBJECTS = {
    REGISTER: "[{app}] Validate your email",
    ADD: "[{app}] Validate your email",
    PASSWORD_RESET: "[{app}] Password reset",
}
_DISABLED = {
    REGISTER: "Email-based registration has been disabled on this server",
    ADD: "Adding an email to your account is disabled on this server",
    PASSWORD_RESET: "Password reset emails have been disabled on this server",
}


class TokenRequest(msgspec.Struct):
    """``…/email/requestToken`` (``id_server``/``id_access_token`` are accepted and
    unused: this server sends its own mail)."""

    client_secret: str
    email: str
    send_attempt: int
    next_link: str | None = None
    id_server: str | None = None
    id_access_token: str | None = None


@dataclass(frozen=True)
class Threepid:
    medium: str
    address: str
    validated_at: int
    added_at: int


def _is_web_link(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_client_secret(secret: str) -> None:
    if not _CLIENT_SECRET.fullmatch(secret):
        raise errors.invalid_param("Invalid client_secret parameter")


class ThreepidService:
    def __init__(self, config: Config, storage: Storage, mailer: Mailer,
                 bindings: ThreepidBindings, clock: Clock, auth: AuthService, uia: UiaService,
                 account: AccountService) -> None:
        self._auth = auth
        self._uia = uia
        self._account = account
        self._config = config
        self._storage = storage
        self._mailer = mailer
        self._bindings = bindings
        self._clock = clock
        self._lifetime_ms = int(config.email.validation_token_lifetime * 1000)

    # -- requestToken / submit_token ---------------------------------------------------

    async def request_email_token(self, purpose: str, request: TokenRequest) -> str:
        """Start (or repeat) a validation of ``request.email`` for ``purpose``; returns
        the session ID. A repeat with a ``send_attempt`` no higher than the last sends
        nothing (the spec's idempotence)."""
        if not self._mailer.configured:
            raise MatrixError(400, "M_UNKNOWN", _DISABLED[purpose])
        check_client_secret(request.client_secret)
        address = canonical_email(request.email)
        if request.next_link is not None and not _is_web_link(request.next_link):
            raise errors.invalid_param("next_link must be an http or https URL")
        owner = await self._storage.threepids.owner("email", address)
        if purpose in (REGISTER, ADD) and owner is not None:
            raise MatrixError(400, "M_THREEPID_IN_USE", "Email is already in use")
        if purpose == PASSWORD_RESET and owner is None:
            raise MatrixError(400, "M_THREEPID_NOT_FOUND", "Email not found")
        now = self._clock.now_ms()
        existing = await self._storage.threepids.session_for_request(
            request.client_secret, "email", address, purpose)
        if existing is not None and existing.expires_ts > now and \
                request.send_attempt <= existing.last_send_attempt:
            return existing.session_id
        session = ThreepidSession(
            existing.session_id if existing is not None and existing.expires_ts > now
            else random_string(16), request.client_secret, "email", address, purpose,
            request.send_attempt, secrets.token_urlsafe(24), request.next_link,
            now + self._lifetime_ms, None)
        await self._send_token(session)
        async with self._storage.transaction() as tx:
            await tx.threepids.delete_expired(now)
            await tx.threepids.save_session(session, now)
        return session.session_id

    async def _send_token(self, s: ThreepidSession) -> None:
        query = urlencode({"token": s.token, "client_secret": s.client_secret,
                           "sid": s.session_id})
        link = f"{self._config.baseurl}{_LINKS[s.purpose]}?{query}"
        app = self._mailer.app_name
        what = "reset your password" if s.purpose == PASSWORD_RESET else \
            f"use this address with {app}"
        text = (f"To {what}, follow this link:\n\n{link}\n\n"
                f"Or enter this code where you were asked for it: {s.token}\n\n"
                "If this was not you, ignore this mail: nothing changes until the link "
                "is followed.\n")
        await self._mailer.send(s.address, _SUBJECTS[s.purpose].format(app=app), text)

    async def submit_token(self, purpose: str | None, sid: str, client_secret: str,
                           token: str) -> str | None:
        """Validate a session with its mailed token; returns the session's ``next_link``
        (None when it has none). Raises ``M_UNKNOWN`` for a wrong or stale token."""
        now = self._clock.now_ms()
        session = await self._storage.threepids.session(sid)
        if session is None or session.expires_ts <= now or \
                (purpose is not None and session.purpose != purpose) or \
                not secrets.compare_digest(session.client_secret, client_secret) or \
                not secrets.compare_digest(session.token, token):
            raise MatrixError(400, "M_UNKNOWN", "Validation token not found or has expired")
        async with self._storage.transaction() as tx:
            await tx.threepids.mark_validated(sid, now)
        return session.next_link

    async def validated(self, creds: ThreepidCreds | None, purpose: str, status: int = 401
                        ) -> ThreepidSession:
        """The validated session ``creds`` name, for ``purpose``; else
        ``M_THREEPID_AUTH_FAILED`` (401, a failed UIA stage, unless ``status`` says)."""
        if creds is None:
            raise errors.missing_param("Missing threepid_creds")
        session = await self._storage.threepids.session(creds.sid)
        now = self._clock.now_ms()
        if session is None or session.purpose != purpose or session.expires_ts <= now or \
                session.validated_ts is None or \
                not secrets.compare_digest(session.client_secret, creds.client_secret):
            raise MatrixError(status, "M_THREEPID_AUTH_FAILED",
                              "No validated 3pid session found")
        return session

    # -- the m.login.email.identity UIA stage -------------------------------------------

    @property
    def email_enabled(self) -> bool:
        return self._mailer.configured

    def email_stage(self, purpose: str) -> StageChecker:
        """The stage's checker: passes for a validated session of ``purpose``."""

        async def check(auth: EmailIdentityAuth) -> None:
            await self.validated(auth.creds, purpose)

        return check

    async def proven_by(self, auth: EmailIdentityAuth, purpose: str) -> ThreepidSession:
        """The session a passed email stage named (the request's own ``auth``)."""
        return await self.validated(auth.creds, purpose)

    async def reset_password(self, change: PasswordChange, auth: StageAuth | None) -> None:
        """``POST /account/password`` without an access token: the new password for the
        account whose email a ``password_reset`` session proved (the one flow offered,
        as Synapse). Without mail set up there is no such flow: the access token is
        missing."""
        if not self.email_enabled:
            raise errors.missing_token()
        new_password = self._auth.validate_new_password(change.new_password)
        await self._uia.authenticate(
            auth, scope="account/password/email", flows=[[EMAIL_IDENTITY]],
            checkers={EMAIL_IDENTITY: self.email_stage(PASSWORD_RESET)})
        # The flow's one stage passed: it is this request's own.
        assert isinstance(auth, EmailIdentityAuth)
        owner = await self._reset_password_owner(auth)
        await self._account.set_password(owner, new_password, change.logout_devices)

    async def _reset_password_owner(self, auth: EmailIdentityAuth) -> str:
        """The account whose address the password-reset session proved."""
        session = await self.proven_by(auth, PASSWORD_RESET)
        owner = await self._storage.threepids.owner(session.medium, session.address)
        if owner is None:
            raise MatrixError(400, "M_THREEPID_NOT_FOUND", "Email not found")
        async with self._storage.transaction() as tx:
            await tx.threepids.delete_session(session.session_id)
        return owner

    # -- the account's 3PIDs -----------------------------------------------------------

    async def threepids_of(self, user_id: str) -> list[Threepid]:
        rows = await self._storage.admin_users.threepids(user_id)
        return [Threepid(r["medium"], r["address"], int(r["validated_at"]),
                         int(r["added_at"])) for r in rows]

    async def add_validated(self, requester: Requester, creds: ThreepidCreds) -> None:
        """Add the address a validated ``add`` session proved to the caller's account."""
        session = await self.validated(creds, ADD, status=400)
        async with self._storage.transaction() as tx:
            owner = await tx.threepids.owner(session.medium, session.address)
            if owner is not None and owner != requester.user_id:
                raise MatrixError(400, "M_THREEPID_IN_USE", "Email is already in use")
            if owner is None:
                await tx.threepids.add(requester.user_id, session.medium, session.address,
                                       session.validated_ts or self._clock.now_ms(),
                                       self._clock.now_ms())
            await tx.threepids.delete_session(session.session_id)

    async def add_registered(self, user_id: str, session: ThreepidSession) -> None:
        """Put the address a registration proved on the new account."""
        async with self._storage.transaction() as tx:
            if await tx.threepids.owner(session.medium, session.address) is None:
                await tx.threepids.add(user_id, session.medium, session.address,
                                       session.validated_ts or self._clock.now_ms(),
                                       self._clock.now_ms())
            await tx.threepids.delete_session(session.session_id)

    async def delete(self, requester: Requester, medium: str, address: str,
                     id_server: str | None) -> str:
        """Remove the 3PID from the account and unbind it from the identity servers it
        was bound at through this server (or ``id_server``); returns the spec's
        ``id_server_unbind_result``."""
        address = canonical_address(medium, address)
        async with self._storage.transaction() as tx:
            removed = await tx.threepids.remove(requester.user_id, medium, address)
        if not removed:
            raise errors.not_found("The 3PID is not on this account")
        return await self.unbind(requester, medium, address, id_server)

    # -- identity servers --------------------------------------------------------------

    async def bind(self, requester: Requester, id_server: str, id_access_token: str,
                   sid: str, client_secret: str) -> None:
        check_client_secret(client_secret)
        await self._bindings.bind(requester.user_id, id_server, id_access_token, sid,
                                  client_secret)

    async def unbind(self, requester: Requester, medium: str, address: str,
                     id_server: str | None) -> str:
        """``success`` if every identity server asked forgot the binding, else
        ``no-support`` (none known, or one does not support unbinding)."""
        return await self._bindings.unbind(requester.user_id, medium, address, id_server)
