"""Admin services: operations for server admins, built on the core services.

:func:`admin_services` builds the ones that need nothing but core services, so that
``build_services`` stays one readable table; those that other services or jobs use are
built there."""

from __future__ import annotations

from typing import TypedDict

from glia.clock import Clock
from glia.config import Config
from glia.services.account import AccountService
from glia.services.admin.appservices import AppServiceAdminService
from glia.services.admin.cross_signing import CrossSigningAdminService
from glia.services.admin.devices import DeviceAdminService
from glia.services.admin.federation import FederationAdminService
from glia.services.admin.federation_diagnostics import FederationDiagnostics
from glia.services.admin.jobs import JobAdminService
from glia.services.admin.registration_tokens import RegistrationTokenAdminService
from glia.services.admin.reports import ReportAdminService
from glia.services.admin.statistics import StatisticsAdminService
from glia.services.admin.users import UserAdminService
from glia.services.appservices.sender import AppServiceSender
from glia.services.auth import AuthService
from glia.services.federation.client import FederationClient
from glia.services.federation.keys import ServerKeysService
from glia.services.federation.policy import FederationPolicy
from glia.services.federation.sender import FederationSender
from glia.services.jobs import JobsService
from glia.services.keys import KeysService
from glia.services.profile import ProfileService
from glia.services.registration import RegistrationService
from glia.storage import Storage


class AdminServices(TypedDict):
    """The fields of ``Services`` these fill."""

    job_admin: JobAdminService
    user_admin: UserAdminService
    device_admin: DeviceAdminService
    registration_tokens: RegistrationTokenAdminService
    report_admin: ReportAdminService
    statistics_admin: StatisticsAdminService
    cross_signing_admin: CrossSigningAdminService
    federation_admin: FederationAdminService
    federation_diagnostics: FederationDiagnostics
    appservice_admin: AppServiceAdminService


def admin_services(config: Config, storage: Storage, clock: Clock, *, jobs: JobsService,
                   auth: AuthService, account: AccountService,
                   registration: RegistrationService, profile: ProfileService,
                   keys: KeysService, federation_sender: FederationSender,
                   federation_client: FederationClient, server_keys: ServerKeysService,
                   federation_policy: FederationPolicy,
                   appservice_sender: AppServiceSender) -> AdminServices:
    return AdminServices(
        job_admin=JobAdminService(jobs),
        user_admin=UserAdminService(config, storage, auth, account, registration, profile),
        device_admin=DeviceAdminService(config, storage, keys),
        registration_tokens=RegistrationTokenAdminService(storage, clock),
        report_admin=ReportAdminService(storage),
        statistics_admin=StatisticsAdminService(config, storage),
        cross_signing_admin=CrossSigningAdminService(storage, clock),
        federation_admin=FederationAdminService(storage, federation_sender.kick),
        federation_diagnostics=FederationDiagnostics(config.server_name, federation_client,
                                                     server_keys, federation_policy),
        appservice_admin=AppServiceAdminService(storage, appservice_sender),
    )
