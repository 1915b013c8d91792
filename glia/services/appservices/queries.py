"""Homeserver → application service queries, and the client-facing rules that depend on
registrations: user and alias queries, third-party lookups, pings, reserved aliases,
and each service's room directory per network.

A service that is down or answers nonsense makes a query fail softly: an alias or user
lookup finds nothing, a third-party lookup returns what the others answered; only ping,
whose point is to report the service's health, says what went wrong.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from glia import errors
from glia.errors import MatrixError
from glia.services.appservices.registrations import AppService, AppServices
from glia.storage import Storage

if TYPE_CHECKING:
    from glia.services.auth import Requester
    from glia.services.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

#: A protocol's metadata as its application service describes it (free-form JSON the
#: service defines), and what ``/thirdparty/protocols`` answers: protocol → metadata.
ThirdPartyProtocol = dict[str, Any]
ThirdPartyProtocols = dict[str, ThirdPartyProtocol]
#: Third-party locations or users, as the services answered them.
ThirdPartyResults = list[dict[str, Any]]

#: The spec's third-party lookup kinds (``/thirdparty/location`` and ``/user``).
LOOKUP_KINDS = ("location", "user")


class AppServiceQueries:
    def __init__(self, storage: Storage, services: AppServices, timeout: float) -> None:
        self._storage = storage
        self._services = services
        self._timeout = timeout

    async def _get(self, service: AppService, path: str,
                   params: dict[str, str] | None = None) -> httpx.Response:
        assert service.url is not None
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            return await http.get(f"{service.url}/_matrix/app/v1{path}", params=params,
                                  headers={"Authorization": f"Bearer {service.hs_token}"})

    # -- user and alias queries ----------------------------------------------------------

    async def query_alias(self, alias: str) -> bool:
        """Ask the services owning ``alias`` to create it; True if one says it did."""
        return await self._query([s for s in self._services.owning_alias(alias) if s.url],
                                 f"/rooms/{quote(alias, safe='')}")

    async def query_user(self, user_id: str) -> bool:
        """Ask the services owning ``user_id`` to create it; True if one says it did."""
        return await self._query([s for s in self._services.owning_user(user_id) if s.url],
                                 f"/users/{quote(user_id, safe='')}")

    async def _query(self, services: list[AppService], path: str) -> bool:
        for service in services:
            try:
                response = await self._get(service, path)
            except httpx.HTTPError as e:
                logger.warning("application service %s: query %s failed: %s", service.id,
                               path, type(e).__name__)
                continue
            if response.status_code == 200:
                return True
        return False

    def check_alias_allowed(self, requester: Requester, alias: str) -> None:
        """``M_EXCLUSIVE`` for an alias another service reserved, or for a service
        creating one outside its namespaces."""
        if requester.app_service is not None:
            own = self._services.by_id(requester.app_service)
            if own is not None and own.owns_alias(alias):
                return
            if own is not None and own.aliases:
                raise MatrixError(400, "M_EXCLUSIVE",
                                  "This application service has not reserved this alias.")
        claimer = self._services.claiming_alias(alias)
        if claimer is not None and claimer.id != requester.app_service:
            raise MatrixError(400, "M_EXCLUSIVE",
                              "This alias is reserved by an application service.")

    # -- third-party networks ------------------------------------------------------------

    async def protocols(self) -> ThirdPartyProtocols:
        """``/thirdparty/protocols``: each protocol's metadata from a service that has
        it, with every such service's instances."""
        out: dict[str, Any] = {}
        names = {p for s in self._services.all if s.url for p in s.protocols}
        for name in sorted(names):
            found = await self._protocol(name)
            if found is not None:
                out[name] = found
        return out

    async def protocol(self, name: str) -> ThirdPartyProtocol:
        found = await self._protocol(name)
        if found is None:
            raise errors.not_found("No protocol with this name")
        return found

    async def _protocol(self, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = None
        for service in self._services.with_protocol(name):
            answer = await self._json(service, f"/thirdparty/protocol/{quote(name, safe='')}")
            if not isinstance(answer, dict):
                continue
            instances = [dict(i, instance_id=f"{service.id}|{i.get('network_id', '')}")
                         for i in answer.get("instances", []) if isinstance(i, dict)]
            if result is None:
                result = dict(answer, instances=instances)
            else:
                result["instances"].extend(instances)
        return result

    async def lookup(self, kind: str, protocol: str | None,
                     fields: dict[str, str]) -> ThirdPartyResults:
        """``/thirdparty/{location,user}[/{protocol}]``: every answering service's
        results (by protocol), or a reverse lookup by ``alias`` / ``userid``."""
        if protocol is not None:
            services = self._services.with_protocol(protocol)
            path = f"/thirdparty/{kind}/{quote(protocol, safe='')}"
        else:
            services = [s for s in self._services.all if s.url and s.protocols]
            path = f"/thirdparty/{kind}"
        out: ThirdPartyResults = []
        for service in services:
            answer = await self._json(service, path, fields)
            if isinstance(answer, list):
                out.extend(a for a in answer if isinstance(a, dict))
        return out

    async def _json(self, service: AppService, path: str,
                    params: dict[str, str] | None = None) -> Any:
        try:
            response = await self._get(service, path, params)
            if response.status_code != 200:
                return None
            return response.json()
        except (httpx.HTTPError, ValueError) as e:
            logger.warning("application service %s: %s failed: %s", service.id, path,
                           type(e).__name__)
            return None

    # -- ping ----------------------------------------------------------------------------

    async def ping(self, requester: Requester, service_id: str,
                   transaction_id: str | None) -> int:
        """``POST /appservice/{id}/ping``: the service's round trip in milliseconds."""
        service = self._services.by_id(service_id)
        if service is None or requester.app_service != service_id:
            raise errors.forbidden("This is not your application service")
        if service.url is None:
            raise MatrixError(400, "M_URL_NOT_SET",
                              "The application service has no URL")
        body = {} if transaction_id is None else {"transaction_id": transaction_id}
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(
                    f"{service.url}/_matrix/app/v1/ping", json=body,
                    headers={"Authorization": f"Bearer {service.hs_token}"})
        except httpx.TimeoutException as e:
            raise MatrixError(504, "M_CONNECTION_TIMEOUT",
                              "Timeout while pinging the application service") from e
        except httpx.HTTPError as e:
            raise MatrixError(502, "M_CONNECTION_FAILED",
                              "Connection to the application service failed") from e
        if response.status_code != 200:
            error = MatrixError(502, "M_BAD_STATUS",
                                "The application service answered an error",
                                body=response.text[:1000])
            error.extra["status"] = response.status_code  # a keyword MatrixError takes
            raise error
        return int((time.monotonic() - started) * 1000)

    # -- room directory per network ------------------------------------------------------

    async def set_listed(self, uow: UnitOfWork, network_id: str, room_id: str,
                         listed: bool) -> None:
        """``PUT/DELETE /directory/list/appservice/{networkId}/{roomId}``."""
        service_id = uow.requester.app_service
        if service_id is None:
            raise errors.forbidden("Only application services can use this endpoint")
        async with uow.transaction() as tx:
            if await tx.rooms.get(room_id) is None:
                raise errors.not_found("Unknown room")
            if listed:
                await tx.appservices.list_room(service_id, network_id, room_id)
            else:
                await tx.appservices.unlist_room(service_id, network_id, room_id)

    async def network_rooms(self, instance_id: str | None,
                            all_networks: bool) -> list[str] | None:
        """Rooms ``publicRooms`` shows besides the main directory: one network's
        (``instance_id`` is ``<service id>|<network id>``), every network's, or None."""
        if all_networks:
            return await self._storage.appservices.listed_rooms()
        if instance_id is None:
            return None
        service_id, sep, network_id = instance_id.partition("|")
        if not sep or self._services.by_id(service_id) is None:
            raise errors.invalid_param("Unknown third_party_instance_id")
        return await self._storage.appservices.listed_rooms(service_id, network_id)
