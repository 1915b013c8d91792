"""Services: the logic per spec area, wired together once per process.

Each service gets its collaborators in its constructor. ``build_services`` is the one
place that wires them; handlers reach them through ``request.services``, which is this
process's :class:`Services`, not a global.
"""

from __future__ import annotations

from glia.clock import Clock, SystemClock
from glia.config import Config
from glia.services.account import LEAVE_ALL_ROOMS, AccountService
from glia.services.account_data import AccountDataService
from glia.services.admin import admin_services
from glia.services.admin.account_validity import AccountValidityService
from glia.services.admin.background_updates import BackgroundUpdatesService
from glia.services.admin.experimental import ExperimentalFeaturesService
from glia.services.admin.health import HealthService
from glia.services.admin.media import MEDIA_DELETE, MediaAdminService
from glia.services.admin.ratelimit import RatelimitOverrideService
from glia.services.admin.redact import UserRedactService
from glia.services.admin.remote_media import RemoteMediaCacheService
from glia.services.admin.room_moderation import RoomModerationService
from glia.services.admin.room_stats import RoomStats
from glia.services.admin.rooms import RoomAdminService
from glia.services.admin.search import SEARCH_REINDEX, SearchAdminService
from glia.services.admin.server_notices import ServerNoticeService
from glia.services.admin.user_lookup import UserLookupService
from glia.services.appservices.device_lists import DeviceListLeaves
from glia.services.appservices.ephemeral import AppServiceEphemeral
from glia.services.appservices.queries import AppServiceQueries
from glia.services.appservices.registrations import load_app_services
from glia.services.appservices.sender import AppServiceQueue, AppServiceSender
from glia.services.appservices.users import AppServiceUsers
from glia.services.audit import AuditService
from glia.services.auth import AuthService
from glia.services.cross_signing import CrossSigningService
from glia.services.device_removal import DeviceRemoval
from glia.services.devices import DeviceService
from glia.services.directory import DirectoryService
from glia.services.event_fanout import EventFanout
from glia.services.events import EventsService
from glia.services.federation.acl import RoomAcls
from glia.services.federation.backfill import Backfiller
from glia.services.federation.backoff import DestinationBackoff
from glia.services.federation.client import FederationClient
from glia.services.federation.device_lists import (
    DeviceListAnnouncer,
    E2eeEdus,
    RemoteDeviceLists,
)
from glia.services.federation.discovery import SystemResolver
from glia.services.federation.e2ee_queries import RemoteE2ee
from glia.services.federation.gaps import GapFiller
from glia.services.federation.inbound import inbound_federation
from glia.services.federation.invites import Invites
from glia.services.federation.keys import ServerKeysService
from glia.services.federation.knock import Knocks
from glia.services.federation.media_fetch import MediaFetcher
from glia.services.federation.pdus import PduChecks
from glia.services.federation.policy import FederationPolicy
from glia.services.federation.presence import FederatedPresence
from glia.services.federation.remote import RemoteQueries
from glia.services.federation.remote_join import RemoteMemberships
from glia.services.federation.resident import ResidentMemberships
from glia.services.federation.sender import FederationSender
from glia.services.federation.to_device import FederationToDevice
from glia.services.filters import FilterService
from glia.services.guest_access import GuestEviction
from glia.services.identity_servers import IdentityServers
from glia.services.jobs import JobRunner, JobsService
from glia.services.key_backup import KeyBackupService
from glia.services.keys import KeysService, RemoteKeys
from glia.services.legacy_sync import LegacySyncService
from glia.services.login import LoginService
from glia.services.login_attempts import LoginAttempts
from glia.services.mailer import Mailer
from glia.services.media import MediaService
from glia.services.membership import MembershipService
from glia.services.notifier import Notifier, RoomEventWakeups, RoomMembers
from glia.services.openid import OpenIdService
from glia.services.presence import PresenceService
from glia.services.profile import ProfileService
from glia.services.push import PushService
from glia.services.push_evaluation import PushEvaluator
from glia.services.push_gateway import PushGateway
from glia.services.pushers import PusherService
from glia.services.ratelimit import RatelimitOverrides, SharedBuckets
from glia.services.receipts import ReceiptService
from glia.services.registration import RegistrationService
from glia.services.registry import Services as Services
from glia.services.relations import Aggregator, RelationsService
from glia.services.remote_media import RemoteMediaService
from glia.services.remote_spaces import RemoteSpaces
from glia.services.reports import ReportService
from glia.services.retention import RetentionService
from glia.services.rooms import RoomService
from glia.services.search import SearchIndexer, SearchService
from glia.services.server_keys import load_or_create_signing_key
from glia.services.shared_secret_registration import SharedSecretRegistrationService
from glia.services.spaces import SpacesService
from glia.services.state import StateService
from glia.services.state_writes import StateWriteService
from glia.services.sync import SyncService
from glia.services.third_party_invites import ThirdPartyInviteService
from glia.services.threepid_bindings import ThreepidBindings
from glia.services.threepids import ThreepidService
from glia.services.timeline import TimelineService
from glia.services.to_device import ToDeviceService
from glia.services.typing import TypingService
from glia.services.uia import UiaService
from glia.services.unit_of_work import AuditWithFirstEvent, UnitsOfWork
from glia.services.upgrade_follow import UpgradeFollow
from glia.services.url_previews import UrlPreviewService
from glia.services.user_directory import (
    USER_DIRECTORY_REBUILD,
    UserDirectoryIndexer,
    UserDirectoryService,
)
from glia.services.voip import VoipService
from glia.storage import Storage


def build_services(config: Config, storage: Storage, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    room_members = RoomMembers(storage, config.server_name)
    notifier = Notifier(room_members)
    app_services = load_app_services(config)
    appservice_sender = AppServiceSender(
        storage, app_services, clock, timeout=config.app_service_timeout,
        several_processes=config.database.several_processes)
    appservice_queries = AppServiceQueries(storage, app_services, config.app_service_timeout)
    appservice_ephemeral = AppServiceEphemeral(storage, app_services, appservice_sender, clock)
    # Other servers' users' keys and our users' device-list announcements go through
    # the federation services made below (called only once requests flow).
    keys = KeysService(
        config, storage, notifier, appservice_ephemeral,
        remote=RemoteKeys(query=lambda wanted, ms: remote_e2ee.query(wanted, ms),
                          claim=lambda wanted, ms: remote_e2ee.claim(wanted, ms)),
        device_list_listener=lambda user_id: device_announcer.changed(user_id))
    auth = AuthService(config, storage, clock, app_services,
                       device_added=keys.device_list_changed)
    uia = UiaService(storage)
    device_removal = DeviceRemoval([keys.devices_removing])
    login = LoginService(config, storage, auth, device_removal,
                         LoginAttempts(config, storage))
    jobs = JobsService(storage, config.jobs, clock)
    audit = AuditService(storage)
    signing_key = load_or_create_signing_key(config)
    identity_servers = IdentityServers(config, signing_key)
    bindings = ThreepidBindings(storage, identity_servers)
    account = AccountService(storage, auth, login, uia, jobs, device_removal, bindings)
    threepids = ThreepidService(config, storage, Mailer(config.email), bindings,
                                clock, auth, uia, account)
    registration = RegistrationService(config, storage, auth, uia, clock, threepids)
    aggregator = Aggregator(storage)
    push_gateway = PushGateway(storage, config.server_name,
                               config.push.allow_private_gateways)
    room_stats = RoomStats(config, storage)
    user_directory = UserDirectoryService(config, storage, jobs)
    # Federation: the outbound client, our users' queries through it, and the sender
    # that passes our events to the servers in our rooms.
    federation_policy = FederationPolicy(config.federation)
    backoff = DestinationBackoff(storage, clock)
    federation_client = FederationClient(config.server_name, signing_key, config.federation,
                                         federation_policy, SystemResolver(), clock, backoff)
    federation_sender = FederationSender(config.server_name, storage, federation_client,
                                         backoff, clock)
    presence = PresenceService(storage, notifier, clock, appservice_ephemeral,
                               server_name=config.server_name,
                               listener=lambda user_id: federated_presence.changed(user_id))
    federated_presence = FederatedPresence(config.server_name, config.federation.presence,
                                           storage, federation_sender, presence, clock)
    server_keys = ServerKeysService(config.server_name, signing_key, storage,
                                    federation_client, federation_policy, clock)
    remote_e2ee = RemoteE2ee(config.server_name, storage, federation_client, clock)
    device_announcer = DeviceListAnnouncer(config.server_name, storage, federation_sender,
                                           clock)
    # The event-write pipeline (services/events.py). Subscribers run after each commit in
    # this order: push before the wake-ups, so a woken /sync sees the new unread counts.
    event_fanout = EventFanout(storage, [
        SearchIndexer(storage),
        PushEvaluator(config.server_name, storage, push_gateway),
        UserDirectoryIndexer(user_directory),
        AppServiceQueue(storage, app_services, appservice_sender),
        DeviceListLeaves(storage, app_services, appservice_sender),
        # Before the wake-ups: a /sync that sees a join into an upgraded room sees the
        # settings that followed the member there.
        UpgradeFollow(config.server_name, storage, notifier),
        RoomEventWakeups(notifier, room_members.is_local),
        federation_sender,
        federated_presence,
        # After the wake-ups: its leaves are events of their own. (`membership` is
        # made below; subscribers run only once requests flow.)
        GuestEviction(storage, lambda user, room: membership.leave(user, room, None)),
    ])
    # Persist steps commit with each event: room statistics, and the audit row of an
    # admin operation made of events (with the first of them).
    signing_key = load_or_create_signing_key(config)
    room_events = EventsService(config, storage, signing_key,
                                persist_steps=[room_stats, AuditWithFirstEvent()],
                                fanout=event_fanout)
    remote = RemoteQueries(federation_client)
    room_acls = RoomAcls(storage)
    spaces = SpacesService(storage, RemoteSpaces(federation_client, clock).summary)
    profile = ProfileService(config, storage, room_events, remote.profile, appservice_queries)
    directory = DirectoryService(config, storage, remote, appservice_queries)
    pdu_checks = PduChecks(server_keys)
    remote_memberships = RemoteMemberships(config.server_name, room_events,
                                           federation_client, pdu_checks, signing_key)
    federation_resident = ResidentMemberships(config.server_name, storage, room_events,
                                              pdu_checks, signing_key)
    invites = Invites(config.server_name, storage, room_events, pdu_checks,
                      federation_resident, remote_memberships, signing_key)
    knocks = Knocks(config.server_name, storage, room_events, federation_resident,
                    remote_memberships, clock)
    membership = MembershipService(storage, room_events, directory, remote_memberships,
                                   invites, knocks)
    search = SearchService(storage, aggregator)
    search_admin = SearchAdminService(storage, jobs)
    rooms = RoomService(config, storage, room_events, invites)
    room_admin = RoomAdminService(config, storage, room_events, rooms, membership, jobs)
    push = PushService(config, storage, notifier, push_gateway)
    media = MediaService(config, storage, clock)
    media_admin = MediaAdminService(config, storage, media, jobs)
    account_data = AccountDataService(storage, notifier)
    receipts = ReceiptService(storage, notifier, account_data, read_positions=push,
                              appservices=appservice_ephemeral,
                              listener=federation_sender.receipt_sent)
    typing = TypingService(storage, notifier, clock, appservice_ephemeral,
                           listener=federation_sender.typing_changed)
    sync = SyncService(storage, notifier, aggregator, receipts, typing, presence,
                       devices=keys, unread_counts=push.unread_counts,
                       account_data_sources=[push.sync_account_data])
    ratelimit = RatelimitOverrides(storage)
    gap_filler = GapFiller(config.server_name, storage, federation_client, pdu_checks, clock)
    backfiller = Backfiller(config.server_name, storage, federation_client, gap_filler,
                            clock)
    to_device = ToDeviceService(
        config, notifier, appservice_ephemeral,
        remote=lambda tx, sender, kind, messages: federation_to_device.queue(
            tx, sender, kind, messages))
    federation_to_device = FederationToDevice(config.server_name, storage, to_device,
                                              federation_sender.kick, clock)
    remote_device_lists = RemoteDeviceLists(config.server_name, storage, keys, remote_e2ee)
    timeline = TimelineService(storage, aggregator, backfiller.before_page)
    user_redact = UserRedactService(config, storage, room_events, jobs)
    room_moderation = RoomModerationService(config, storage, room_events, membership, jobs,
                                            room_admin)
    background_updates = BackgroundUpdatesService(storage, jobs, clock, room_stats,
                                                  user_directory.rebuild_job)
    server_notices = ServerNoticeService(config, storage, room_events, rooms, membership,
                                         registration, account_data)
    # Which code runs each kind of durable job (handed to the worker by app.py).
    job_runners: dict[str, JobRunner] = {
        LEAVE_ALL_ROOMS: membership.leave_all_job,
        SEARCH_REINDEX: search_admin.reindex_job,
        MEDIA_DELETE: media_admin.delete_job,
        USER_DIRECTORY_REBUILD: user_directory.rebuild_job,
        **room_admin.job_runners(),
        **room_moderation.job_runners(),
        **user_redact.job_runners(),
        **background_updates.job_runners(),
    }
    return Services(
        config=config,
        clock=clock,
        units=UnitsOfWork(storage),
        job_runners=job_runners,
        notifier=notifier,
        event_fanout=event_fanout,
        auth=auth,
        uia=uia,
        registration=registration,
        shared_secret_registration=SharedSecretRegistrationService(
            storage, auth, registration, clock),
        login=login,
        account=account,
        devices=DeviceService(storage, account, keys),
        profile=profile,
        room_events=room_events,
        rooms=rooms,
        membership=membership,
        state=StateService(storage),
        state_writes=StateWriteService(storage, room_events),
        timeline=timeline,
        relations=RelationsService(storage, aggregator),
        directory=directory,
        audit=audit,
        jobs=jobs,
        user_lookup=UserLookupService(config, storage, registration),
        user_redact=user_redact,
        search=search,
        search_admin=search_admin,
        room_admin=room_admin,
        room_moderation=room_moderation,
        room_stats=room_stats,
        reports=ReportService(config, storage),
        media=media,
        media_admin=media_admin,
        filters=FilterService(storage),
        account_data=account_data,
        receipts=receipts,
        typing=typing,
        presence=presence,
        retention=RetentionService(config, storage, clock),
        sync=sync,
        legacy_sync=LegacySyncService(storage, notifier, timeline, presence, aggregator),
        server_notices=server_notices,
        push=push,
        push_gateway=push_gateway,
        pushers=PusherService(config, storage, push_gateway),
        keys=keys,
        cross_signing=CrossSigningService(config, storage, account, keys, clock),
        to_device=to_device,
        remote_device_lists=remote_device_lists,
        key_backup=KeyBackupService(storage),
        ratelimit=ratelimit,
        shared_buckets=SharedBuckets(storage) if config.database.several_processes else None,
        ratelimit_overrides=RatelimitOverrideService(config, storage, ratelimit),
        experimental_features=ExperimentalFeaturesService(config, storage),
        spaces=spaces,
        health=HealthService(storage),
        remote_media_cache=RemoteMediaCacheService(storage, media),
        remote_media=RemoteMediaService(config, storage, media,
                                        MediaFetcher(federation_client), clock),
        background_updates=background_updates,
        account_validity=AccountValidityService(config, storage, clock, server_notices),
        user_directory=user_directory,
        voip=VoipService(config.voip, clock),
        url_previews=UrlPreviewService(config.media, storage, media, clock),
        threepids=threepids,
        third_party_invites=ThirdPartyInviteService(storage, identity_servers, room_events,
                                                    membership),
        federation_client=federation_client,
        server_keys=server_keys,
        room_acls=room_acls,
        federation_sender=federation_sender,
        federation_resident=federation_resident,
        federation_invites=invites,
        federation_knocks=knocks,
        federation_presence=federated_presence,
        **inbound_federation(
            config, storage, clock, events=room_events, client=federation_client,
            sender=federation_sender, server_keys=server_keys, policy=federation_policy,
            checks=pdu_checks, resident=federation_resident, acls=room_acls, gaps=gap_filler,
            e2ee=E2eeEdus(federation_to_device, remote_device_lists),
            presence=federated_presence, typing=typing, receipts=receipts, profile=profile,
            directory=directory, keys=keys, spaces=spaces),
        **admin_services(config, storage, clock, jobs=jobs, auth=auth, account=account,
                         registration=registration, profile=profile, keys=keys,
                         federation_sender=federation_sender,
                         federation_client=federation_client, server_keys=server_keys,
                         federation_policy=federation_policy,
                         appservice_sender=appservice_sender),
        openid=OpenIdService(config, storage, clock),
        appservice_sender=appservice_sender,
        appservice_queries=appservice_queries,
        appservice_users=AppServiceUsers(storage, app_services, registration),
    )
