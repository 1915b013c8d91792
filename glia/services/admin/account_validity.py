"""Account validity (Synapse's ``account_validity``): with it enabled, an account expires
``period`` after registration or its last renewal, and an expired account's requests are
refused with ``403 M_EXPIRED_ACCOUNT`` (by ``AuthService.authenticate``, for every route
at once). ``renew_at`` before expiry the user gets a renewal link; Synapse mails it, Glia
has no mail and sends it as a server notice. Following the link (``/account_validity/
renew?token=``) extends the account by another period; an admin may set any expiry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from glia import errors
from glia.clock import Clock
from glia.config import Config
from glia.services.admin.server_notices import ServerNoticeService
from glia.services.targets import parse_user
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

logger = logging.getLogger(__name__)

#: Longest time between two looks for accounts due a renewal notice, in seconds; an
#: admin's change of an expiry wakes the sender at once.
NOTICE_POLL_SECONDS = 60.0
NOTICE_BATCH = 100
RENEW_PATH = "/_matrix/client/v3/account_validity/renew"


@dataclass(frozen=True)
class Renewal:
    """What following a renewal link did."""

    #: False: the link was already used (the account was renewed by it before).
    renewed: bool
    expiration_ts: int


class AccountValidityService:
    def __init__(self, config: Config, storage: Storage, clock: Clock,
                 notices: ServerNoticeService) -> None:
        self._config = config
        self._storage = storage
        self._clock = clock
        self._notices = notices
        self._period_ms = int(config.account_validity.period * 1000)
        self._renew_at_ms = int(config.account_validity.renew_at * 1000)
        self._wake = asyncio.Event()

    async def set_validity(self, uow: UnitOfWork, user_id: str, expiration_ts: int | None,
                           enable_renewal_emails: bool) -> int:
        """An admin sets when the account expires (default: a period from now); with
        ``enable_renewal_emails`` false no renewal notice is sent for this expiry."""
        parsed = parse_user(user_id)
        if parsed.domain != self._config.server_name or \
                await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        expires = expiration_ts if expiration_ts is not None \
            else self._clock.now_ms() + self._period_ms
        async with uow.transaction() as tx:
            await tx.account_validity.set_expiration(user_id, expires,
                                                     not enable_renewal_emails)
            tx.after_commit(self._wake.set)
        return expires

    async def renew(self, token: str) -> Renewal:
        """Follow a renewal link: another period from now, once per link."""
        validity = await self._storage.account_validity.by_token(token)
        if validity is None:
            raise errors.not_found("Invalid renewal token")
        if validity.token_used_ts_ms is not None:
            return Renewal(False, validity.expiration_ts_ms)
        now = self._clock.now_ms()
        expires = now + self._period_ms
        async with self._storage.transaction() as tx:
            await tx.account_validity.set_expiration(validity.user_id, expires, False)
            await tx.account_validity.use_token(validity.user_id, now)
        return Renewal(True, expires)

    async def run_renewal_notices(self) -> None:
        """Send each account due for renewal its link (until cancelled)."""
        if not self._config.account_validity.enabled:
            return
        if not self._config.server_notices.enabled:
            logger.warning("account_validity: server notices are disabled, so no renewal"
                           " links are sent (admins can still set expiries)")
            return
        while True:
            self._wake.clear()
            try:
                await self.send_due_notices()
            except Exception:
                logger.exception("account renewal notices failed; retrying later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=NOTICE_POLL_SECONDS)

    async def send_due_notices(self) -> int:
        """Notices for every account expiring within ``renew_at``; returns how many."""
        sent = 0
        while True:
            due = await self._storage.account_validity.due_for_notice(
                self._clock.now_ms() + self._renew_at_ms, NOTICE_BATCH)
            if not due:
                return sent
            for user_id in due:
                await self._send_notice(user_id)
                sent += 1

    async def _send_notice(self, user_id: str) -> None:
        validity = await self._storage.account_validity.get(user_id)
        if validity is None:
            return
        token = secrets.token_urlsafe(32)
        # Marked first: a notice that fails is not retried in a loop every minute.
        await self._storage.account_validity.set_notice_sent(user_id, token)
        when = datetime.fromtimestamp(validity.expiration_ts_ms / 1000, UTC)
        link = f"{self._config.baseurl.rstrip('/')}{RENEW_PATH}?token={quote(token)}"
        text = (f"Your account expires on {when:%Y-%m-%d %H:%M} UTC. To keep using it, "
                f"open this link: {link}")
        await self._notices.notify(user_id, {"msgtype": "m.text", "body": text})
