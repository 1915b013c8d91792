"""The composition root: config → storage → services → HTTP apps → listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from glia.clock import OffsetClock, SystemClock
from glia.config import Config
from glia.http import (
    admin_routes,
    client_routes,
    federation_routes,
    health_routes,
    is_admin_mount,
)
from glia.http.server import HttpApp
from glia.services import Services, build_services
from glia.services.notifier import link_processes
from glia.storage import open_storage

logger = logging.getLogger("glia")


@dataclass(frozen=True)
class Listener:
    label: str
    app: HttpApp
    host: str
    port: int
    #: PEM certificate and key paths: the listener speaks TLS (the federation one may).
    tls_certificate: str | None = None
    tls_private_key: str | None = None


def build_listeners(services: Services) -> list[Listener]:
    """The HTTP apps to serve and where: the client listener, and maybe an admin one that
    can take the admin mounts off the client listener (the spec's client-API admin
    endpoints, such as whois, always stay on the client listener)."""
    listeners = services.config.listeners
    every_admin = admin_routes(services.config.testing.clock_control)
    admin = [r for r in every_admin if is_admin_mount(r.path)]
    client = client_routes() + [r for r in every_admin if not is_admin_mount(r.path)]
    if listeners.admin.on_client_listener or not listeners.admin.enabled:
        client += admin
    federation = services.config.federation.listener
    if not federation.enabled:
        client += federation_routes()
    out = [Listener("client", HttpApp(services, client, "c"), listeners.client.address,
                    listeners.client.port)]
    if federation.enabled:
        config = services.config
        out.append(Listener(
            "federation", HttpApp(services, federation_routes() + health_routes(), "f"),
            federation.address, federation.port,
            str(config.resolve(federation.tls_certificate_path))
            if federation.tls_certificate_path else None,
            str(config.resolve(federation.tls_private_key_path))
            if federation.tls_private_key_path else None))
    if listeners.admin.enabled:
        out.append(Listener("admin", HttpApp(services, admin + health_routes(), "a"),
                            listeners.admin.address, listeners.admin.port))
    return out


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


#: How long a stopping server waits for open connections. Requests finish in
#: milliseconds; what stays open is another server's idle TLS keep-alive connection
#: (whose close waits on the peer) and long-polls, which clients simply repeat.
SHUTDOWN_GRACE_S = 2


async def serve(config: Config) -> None:
    storage = await open_storage(config)
    services = build_services(
        config, storage, OffsetClock() if config.testing.clock_control else SystemClock())
    await services.room_stats.backfill()
    await services.appservice_users.ensure_senders()
    unlink = await link_processes(services.notifier, storage) \
        if storage.shared_by_processes else None
    listeners = build_listeners(services)
    servers = [
        _Server(uvicorn.Config(lst.app, host=lst.host, port=lst.port, log_config=None,
                               access_log=False, lifespan="off", server_header=False,
                               # X-Forwarded-For is Glia's to judge (trusted_proxies).
                               proxy_headers=False, ssl_certfile=lst.tls_certificate,
                               ssl_keyfile=lst.tls_private_key,
                               timeout_graceful_shutdown=SHUTDOWN_GRACE_S))
        for lst in listeners
    ]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        logger.info("shutting down")
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    for lst in listeners:
        logger.info("%s API on %s://%s:%d", lst.label,
                    "https" if lst.tls_certificate else "http", lst.host, lst.port)
    background = [asyncio.create_task(services.jobs.run_worker(services.job_runners)),
                  asyncio.create_task(services.typing.run_expiry()),
                  asyncio.create_task(services.presence.run_expiry()),
                  asyncio.create_task(services.push_gateway.run()),
                  asyncio.create_task(services.event_fanout.run_retries()),
                  asyncio.create_task(services.account_validity.run_renewal_notices()),
                  asyncio.create_task(services.retention.run()),
                  asyncio.create_task(services.appservice_sender.run()),
                  asyncio.create_task(services.federation_sender.run()),
                  asyncio.create_task(services.federation_presence.run())]
    try:
        await asyncio.gather(*(s.serve() for s in servers))
    finally:
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if unlink is not None:
            await unlink()
        await services.federation_client.close()
        await storage.close()
        logger.info("stopped")
