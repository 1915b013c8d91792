"""The services behind the federation routes (what other servers ask of us), built in one
place from the parts ``build_services`` made, so that function stays one readable table."""

from __future__ import annotations

from typing import TypedDict

from glia.clock import Clock
from glia.config import Config
from glia.services.directory import DirectoryService
from glia.services.events import EventsService
from glia.services.federation.acl import RoomAcls
from glia.services.federation.auth import FederationAuthService
from glia.services.federation.client import FederationClient
from glia.services.federation.device_lists import E2eeEdus
from glia.services.federation.gaps import GapFiller
from glia.services.federation.keys import ServerKeysService
from glia.services.federation.pdus import PduChecks
from glia.services.federation.policy import FederationPolicy
from glia.services.federation.presence import FederatedPresence
from glia.services.federation.queries import FederationQueryService
from glia.services.federation.resident import ResidentMemberships
from glia.services.federation.sender import FederationSender
from glia.services.federation.serving import FederationServing
from glia.services.federation.state_download import StateDownload
from glia.services.federation.transactions import InboundTransactions
from glia.services.keys import KeysService
from glia.services.profile import ProfileService
from glia.services.receipts import ReceiptService
from glia.services.spaces import SpacesService
from glia.services.typing import TypingService
from glia.storage import Storage


class InboundFederation(TypedDict):
    """The fields of ``Services`` these fill."""

    federation_auth: FederationAuthService
    federation_queries: FederationQueryService
    federation_serving: FederationServing
    federation_transactions: InboundTransactions
    federation_state_download: StateDownload


def inbound_federation(config: Config, storage: Storage, clock: Clock, *,
                       events: EventsService, client: FederationClient,
                       sender: FederationSender, server_keys: ServerKeysService,
                       policy: FederationPolicy, checks: PduChecks,
                       resident: ResidentMemberships, acls: RoomAcls, gaps: GapFiller,
                       e2ee: E2eeEdus, presence: FederatedPresence, typing: TypingService,
                       receipts: ReceiptService, profile: ProfileService,
                       directory: DirectoryService, keys: KeysService,
                       spaces: SpacesService) -> InboundFederation:
    server_name = config.server_name
    return InboundFederation(
        federation_auth=FederationAuthService(server_name, server_keys, policy,
                                              seen=sender.origin_seen),
        federation_queries=FederationQueryService(config, storage, profile, directory, keys),
        federation_serving=FederationServing(server_name, storage, acls, spaces, clock),
        federation_transactions=InboundTransactions(
            server_name, storage, events, checks, resident, typing, receipts, clock, acls,
            gaps, e2ee, presence=presence),
        federation_state_download=StateDownload(server_name, storage, events, client, gaps),
    )
