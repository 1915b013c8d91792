"""The services one process has, as handlers reach them (``request.services``).

Kept apart from ``build_services`` (in the package's ``__init__``) so the list of what
exists reads on its own, and neither file outgrows the module size rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from glia.clock import Clock
from glia.config import Config
from glia.services.account import AccountService
from glia.services.account_data import AccountDataService
from glia.services.admin.account_validity import AccountValidityService
from glia.services.admin.appservices import AppServiceAdminService
from glia.services.admin.background_updates import BackgroundUpdatesService
from glia.services.admin.cross_signing import CrossSigningAdminService
from glia.services.admin.devices import DeviceAdminService
from glia.services.admin.experimental import ExperimentalFeaturesService
from glia.services.admin.federation import FederationAdminService
from glia.services.admin.federation_diagnostics import FederationDiagnostics
from glia.services.admin.health import HealthService
from glia.services.admin.jobs import JobAdminService
from glia.services.admin.media import MediaAdminService
from glia.services.admin.ratelimit import RatelimitOverrideService
from glia.services.admin.redact import UserRedactService
from glia.services.admin.registration_tokens import RegistrationTokenAdminService
from glia.services.admin.remote_media import RemoteMediaCacheService
from glia.services.admin.reports import ReportAdminService
from glia.services.admin.room_moderation import RoomModerationService
from glia.services.admin.room_stats import RoomStats
from glia.services.admin.rooms import RoomAdminService
from glia.services.admin.search import SearchAdminService
from glia.services.admin.server_notices import ServerNoticeService
from glia.services.admin.statistics import StatisticsAdminService
from glia.services.admin.user_lookup import UserLookupService
from glia.services.admin.users import UserAdminService
from glia.services.appservices.queries import AppServiceQueries
from glia.services.appservices.sender import AppServiceSender
from glia.services.appservices.users import AppServiceUsers
from glia.services.audit import AuditService
from glia.services.auth import AuthService
from glia.services.cross_signing import CrossSigningService
from glia.services.devices import DeviceService
from glia.services.directory import DirectoryService
from glia.services.event_fanout import EventFanout
from glia.services.events import EventsService
from glia.services.federation.acl import RoomAcls
from glia.services.federation.auth import FederationAuthService
from glia.services.federation.client import FederationClient
from glia.services.federation.device_lists import RemoteDeviceLists
from glia.services.federation.invites import Invites
from glia.services.federation.keys import ServerKeysService
from glia.services.federation.knock import Knocks
from glia.services.federation.presence import FederatedPresence
from glia.services.federation.queries import FederationQueryService
from glia.services.federation.resident import ResidentMemberships
from glia.services.federation.sender import FederationSender
from glia.services.federation.serving import FederationServing
from glia.services.federation.state_download import StateDownload
from glia.services.federation.transactions import InboundTransactions
from glia.services.filters import FilterService
from glia.services.jobs import JobRunner, JobsService
from glia.services.key_backup import KeyBackupService
from glia.services.keys import KeysService
from glia.services.legacy_sync import LegacySyncService
from glia.services.login import LoginService
from glia.services.media import MediaService
from glia.services.membership import MembershipService
from glia.services.notifier import Notifier
from glia.services.openid import OpenIdService
from glia.services.presence import PresenceService
from glia.services.profile import ProfileService
from glia.services.push import PushService
from glia.services.push_gateway import PushGateway
from glia.services.pushers import PusherService
from glia.services.ratelimit import RatelimitOverrides, SharedBuckets
from glia.services.receipts import ReceiptService
from glia.services.registration import RegistrationService
from glia.services.relations import RelationsService
from glia.services.remote_media import RemoteMediaService
from glia.services.reports import ReportService
from glia.services.retention import RetentionService
from glia.services.rooms import RoomService
from glia.services.search import SearchService
from glia.services.shared_secret_registration import SharedSecretRegistrationService
from glia.services.spaces import SpacesService
from glia.services.state import StateService
from glia.services.state_writes import StateWriteService
from glia.services.sync import SyncService
from glia.services.third_party_invites import ThirdPartyInviteService
from glia.services.threepids import ThreepidService
from glia.services.timeline import TimelineService
from glia.services.to_device import ToDeviceService
from glia.services.typing import TypingService
from glia.services.uia import UiaService
from glia.services.unit_of_work import UnitsOfWork
from glia.services.url_previews import UrlPreviewService
from glia.services.user_directory import (
    UserDirectoryService,
)
from glia.services.voip import VoipService


@dataclass(frozen=True)
class Services:
    """What HTTP handlers reach. Storage is not here: handlers go through services, and
    ``app.py`` holds the storage it opened."""

    config: Config
    #: The time every service that decides by it reads (tests may move it forward).
    clock: Clock
    #: A unit of work (requester, transaction, audit row) for each write request.
    units: UnitsOfWork
    #: The runner of each job kind, for this process's job worker.
    job_runners: Mapping[str, JobRunner]
    notifier: Notifier
    event_fanout: EventFanout
    auth: AuthService
    uia: UiaService
    registration: RegistrationService
    #: ``/_synapse/admin/v1/register`` (``register_new_matrix_user``).
    shared_secret_registration: SharedSecretRegistrationService
    login: LoginService
    account: AccountService
    devices: DeviceService
    profile: ProfileService
    room_events: EventsService
    rooms: RoomService
    membership: MembershipService
    state: StateService
    state_writes: StateWriteService
    timeline: TimelineService
    relations: RelationsService
    directory: DirectoryService
    audit: AuditService
    jobs: JobsService
    job_admin: JobAdminService
    user_admin: UserAdminService
    user_lookup: UserLookupService
    user_redact: UserRedactService
    device_admin: DeviceAdminService
    search: SearchService
    search_admin: SearchAdminService
    registration_tokens: RegistrationTokenAdminService
    reports: ReportService
    report_admin: ReportAdminService
    room_admin: RoomAdminService
    room_moderation: RoomModerationService
    room_stats: RoomStats
    media: MediaService
    media_admin: MediaAdminService
    filters: FilterService
    account_data: AccountDataService
    receipts: ReceiptService
    typing: TypingService
    presence: PresenceService
    retention: RetentionService
    sync: SyncService
    legacy_sync: LegacySyncService
    server_notices: ServerNoticeService
    push: PushService
    push_gateway: PushGateway
    pushers: PusherService
    keys: KeysService
    cross_signing: CrossSigningService
    to_device: ToDeviceService
    remote_device_lists: RemoteDeviceLists
    key_backup: KeyBackupService
    statistics_admin: StatisticsAdminService
    ratelimit: RatelimitOverrides
    #: The rate-limit buckets several processes share (None: one process, in memory).
    shared_buckets: SharedBuckets | None
    ratelimit_overrides: RatelimitOverrideService
    experimental_features: ExperimentalFeaturesService
    spaces: SpacesService
    health: HealthService
    cross_signing_admin: CrossSigningAdminService
    federation_admin: FederationAdminService
    remote_media_cache: RemoteMediaCacheService
    remote_media: RemoteMediaService
    background_updates: BackgroundUpdatesService
    account_validity: AccountValidityService
    user_directory: UserDirectoryService
    voip: VoipService
    url_previews: UrlPreviewService
    threepids: ThreepidService
    third_party_invites: ThirdPartyInviteService
    federation_client: FederationClient
    server_keys: ServerKeysService
    federation_auth: FederationAuthService
    federation_queries: FederationQueryService
    federation_serving: FederationServing
    #: ``m.room.server_acl`` checks (``allowed``/``check``) for every inbound room path.
    room_acls: RoomAcls
    federation_diagnostics: FederationDiagnostics
    federation_sender: FederationSender
    federation_resident: ResidentMemberships
    federation_transactions: InboundTransactions
    federation_state_download: StateDownload
    federation_invites: Invites
    federation_knocks: Knocks
    federation_presence: FederatedPresence
    openid: OpenIdService
    appservice_sender: AppServiceSender
    appservice_queries: AppServiceQueries
    appservice_users: AppServiceUsers
    appservice_admin: AppServiceAdminService
