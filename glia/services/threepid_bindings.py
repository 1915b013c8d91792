"""Which identity server each of a user's 3PIDs was bound at through this server, and
unbinding them there: one 3PID (``/account/3pid/unbind`` and ``/delete``) or all of them
(deactivation, which the spec has unbind every identifier it knows to be bound).

The spec's ``id_server_unbind_result`` is ``success`` when every identity server asked
forgot the binding, and ``no-support`` when one refused or none is known to ask.
"""

from __future__ import annotations

import logging

from glia.errors import MatrixError
from glia.services.identity_servers import IdentityServers
from glia.storage import Storage

__all__ = ["NO_SUPPORT", "SUCCESS", "ThreepidBindings"]

logger = logging.getLogger(__name__)

SUCCESS, NO_SUPPORT = "success", "no-support"


class ThreepidBindings:
    def __init__(self, storage: Storage, identity: IdentityServers) -> None:
        self._storage = storage
        self._identity = identity

    async def bind(self, user_id: str, id_server: str, id_access_token: str, sid: str,
                   client_secret: str) -> None:
        """Ask ``id_server`` to bind the 3PID it validated to the user, and remember where."""
        medium, address = await self._identity.bind(id_server, id_access_token, sid,
                                                     client_secret, user_id)
        async with self._storage.transaction() as tx:
            await tx.threepids.add_binding(user_id, medium, address, id_server)

    async def unbind(self, user_id: str, medium: str, address: str,
                     id_server: str | None) -> str:
        """Unbind one 3PID from ``id_server``, or else from every server it was bound at
        (``no-support`` when none is known). An identity server that cannot be reached
        is a 502 (the caller may try again; the binding stays recorded)."""
        servers = [id_server] if id_server else \
            await self._storage.threepids.bindings(user_id, medium, address)
        if not servers:
            return NO_SUPPORT
        result = SUCCESS
        for server in servers:
            if not await self._identity.unbind(server, user_id, medium, address):
                result = NO_SUPPORT
            async with self._storage.transaction() as tx:
                await tx.threepids.remove_binding(user_id, medium, address, server)
        return result

    async def unbind_all(self, user_id: str, id_server: str | None) -> str:
        """Unbind every 3PID known to be bound for the user (from ``id_server`` when one
        is named), before the account is deactivated: ``success`` when there is nothing
        to unbind (the spec's rule). An identity server that cannot be reached counts as
        a failed unbind (``no-support``, its binding stays recorded) rather than failing
        the deactivation: a user who wants to leave is not held by a server that is
        gone. (Synapse refuses the deactivation then.)"""
        if id_server is not None:
            self._identity.base_url(id_server)  # M_INVALID_PARAM before anything is done
        result = SUCCESS
        for medium, address in await self._storage.threepids.bound_threepids(user_id):
            try:
                if await self.unbind(user_id, medium, address, id_server) != SUCCESS:
                    result = NO_SUPPORT
            except MatrixError as e:
                logger.warning("deactivating %s: %s could not be unbound: %s", user_id,
                               medium, e.error)
                result = NO_SUPPORT
        return result
