"""HTTP transport: one module per spec area under ``client/`` and ``admin/``."""

from __future__ import annotations

from glia.http import health
from glia.http.admin import account_validity as admin_account_validity
from glia.http.admin import appservices as admin_appservices
from glia.http.admin import (
    audit,
    federation_diagnostics,
    jobs,
    registration_tokens,
    server_notices,
    server_version,
    synapse_extras,
    testing,
    user_extras,
    users,
)
from glia.http.admin import background_updates as admin_background_updates
from glia.http.admin import cross_signing as admin_cross_signing
from glia.http.admin import devices as admin_devices
from glia.http.admin import federation as admin_federation
from glia.http.admin import media as admin_media
from glia.http.admin import media_cache as admin_media_cache
from glia.http.admin import pushers as admin_pushers
from glia.http.admin import registration as admin_registration
from glia.http.admin import remote_devices as admin_remote_devices
from glia.http.admin import reports as admin_reports
from glia.http.admin import rooms as admin_rooms
from glia.http.admin import search as admin_search
from glia.http.admin import statistics as admin_statistics
from glia.http.admin import user_directory as admin_user_directory
from glia.http.client import (
    account,
    account_data,
    account_validity,
    appservice,
    capabilities,
    cross_signing,
    devices,
    directory,
    events,
    key_backup,
    keys,
    legacy_sync,
    login,
    membership,
    openid,
    presence,
    profile,
    push,
    receipts,
    registration,
    relations,
    reports,
    rooms,
    search,
    spaces,
    sync,
    threepids,
    timeline,
    to_device,
    typing,
    user_directory,
    versions,
    voip,
)
from glia.http.federation import keys as federation_keys
from glia.http.federation import knock as federation_knock
from glia.http.federation import media as federation_media
from glia.http.federation import membership as federation_membership
from glia.http.federation import queries as federation_queries
from glia.http.federation import rooms as federation_rooms
from glia.http.federation import transactions as federation_transactions
from glia.http.federation import user as federation_user
from glia.http.media import media, previews
from glia.http.routes import Route

CLIENT_MODULES = (
    versions, capabilities, registration, login, account, devices, profile, rooms, membership,
    events, timeline, relations, directory, reports, search, sync, account_data, receipts,
    typing, presence, push, keys, cross_signing, to_device, key_backup, spaces, openid,
    account_validity, user_directory, voip, threepids, appservice, legacy_sync,
)
ADMIN_MODULES = (admin_registration, server_version, audit, jobs, users, admin_rooms,
                 admin_reports, registration_tokens, admin_search, server_notices, admin_media,
                 admin_pushers, user_extras, admin_devices, admin_statistics, synapse_extras,
                 admin_cross_signing, admin_federation, admin_media_cache,
                 admin_background_updates, admin_account_validity, admin_user_directory,
                 federation_diagnostics, admin_appservices, admin_remote_devices)
MEDIA_MODULES = (media, previews)
#: The Server-Server API and the key server (``/_matrix/federation``, ``/_matrix/key``).
FEDERATION_MODULES = (federation_keys, federation_queries, federation_user,
                      federation_rooms, federation_media, federation_membership,
                      federation_knock,
                      federation_transactions)
#: Served on every listener, without a token.
HEALTH_MODULES = (health,)


#: The mounts of the admin API proper, which a separate admin listener can take off the
#: client listener. The spec's own admin endpoints (``/_matrix/client/…/admin/whois``,
#: ``…/admin/suspend``, ``…/admin/lock``) are Client-Server API paths: they stay on the
#: client listener whatever ``listeners.admin.on_client_listener`` says.
ADMIN_MOUNTS = ("/_synapse/admin/", "/_dendrite/admin/", "/_glia/admin/")


def is_admin_mount(path: str) -> bool:
    return path.startswith(ADMIN_MOUNTS)


def client_routes() -> list[Route]:
    return [r for m in (*CLIENT_MODULES, *MEDIA_MODULES, *HEALTH_MODULES)
            for r in m.routes.routes]


def federation_routes() -> list[Route]:
    return [r for m in FEDERATION_MODULES for r in m.routes.routes]


def health_routes() -> list[Route]:
    """The health checks, which a separate admin listener serves too."""
    return [r for m in HEALTH_MODULES for r in m.routes.routes]


def admin_routes(clock_control: bool = False) -> list[Route]:
    """Every admin route; the testing clock's only with ``testing.clock_control`` on."""
    modules = (*ADMIN_MODULES, testing) if clock_control else ADMIN_MODULES
    return [r for m in modules for r in m.routes.routes]
