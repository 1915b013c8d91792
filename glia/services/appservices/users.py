"""The accounts application services create: a user in a service's namespace, registered
by the service itself (``m.login.application_service``), and each service's own sender.

These skip open registration's rules (no UIA, no password, allowed while registration is
closed) because the service's token is the authority; what they share with it is the
account creation itself (:meth:`RegistrationService.register`)."""

from __future__ import annotations

from glia import errors
from glia.errors import MatrixError
from glia.services.appservices.registrations import AppServices
from glia.services.auth import Requester
from glia.services.registration import NewAccount, Registered, RegistrationService
from glia.storage import Storage


class AppServiceUsers:
    def __init__(self, storage: Storage, app_services: AppServices,
                 registration: RegistrationService) -> None:
        self._storage = storage
        self._app_services = app_services
        self._registration = registration

    async def register(self, requester: Requester | None,
                       account: NewAccount) -> Registered:
        """``m.login.application_service``: the calling service creates one of its users,
        without password or UIA, whether or not open registration is enabled."""
        if requester is None or requester.app_service is None:
            raise errors.missing_token("This registration type needs an application"
                                       " service's token")
        service = self._app_services.by_id(requester.app_service)
        if not account.username:
            raise errors.missing_param("Missing params: username")
        localpart = account.username
        if service is None or not service.owns_user(
                self._registration.user_id_for(localpart)):
            raise MatrixError(400, "M_EXCLUSIVE",
                              "Invalid user localpart for this application service.")
        return await self._registration.register(
            localpart, None, device_id=account.device_id,
            device_display_name=account.initial_device_display_name,
            inhibit_login=bool(account.inhibit_login), app_service=service.id)

    async def ensure_senders(self) -> None:
        """Create each application service's own user on first start (it acts as that
        user when it names no other)."""
        for service in self._app_services.all:
            if await self._storage.users.get(service.sender) is None:
                localpart = service.sender[1:].split(":", 1)[0]
                try:
                    await self._registration.register(localpart, None, inhibit_login=True,
                                                      app_service=service.id)
                except Exception:
                    # Another process starting at the same time may have been first.
                    if await self._storage.users.get(service.sender) is None:
                        raise
