"""The scripted admin requests, sent in this order to both servers: every endpoint of
Synapse's admin API (as inventoried for 1.163), good input and bad. Paths and bodies
name fixtures as ``{placeholder}`` (see ``fixtures.populate``); ``save`` keeps a value of
the answer as a new placeholder for later calls (a job's ID). Destructive calls come
last, on fixtures nothing else uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

S = "/_synapse/admin"
FAR = 4102444800000  # 2100-01-01 in ms


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any = None
    #: Whose token: "admin", a fixture user's name, or "none".
    token: str = "admin"
    #: Placeholder name → key of the JSON answer to keep.
    save: dict[str, str] = field(default_factory=dict)
    #: A body sent as these bytes (bad JSON), instead of ``body``.
    raw: bytes | None = None
    #: Ask again until no job in the answer is still running (the two servers finish
    #: their background work at different moments).
    settle: bool = False
    #: Ask again until a background update shows as current (Glia's paused job
    #: claimed by its worker).
    settle_status: bool = False
    #: False: sent to both, answers not compared (the servers' states differ by nature;
    #: the next call compares).
    compare: bool = True
    #: The Authorization scheme word (Synapse accepts it in any case).
    scheme: str = "Bearer"

    @property
    def label(self) -> str:
        """How the known-differences tables name the call."""
        extra = "" if self.body is None else " " + json.dumps(self.body, sort_keys=True)
        if self.raw is not None:
            extra = f" raw:{self.raw.decode()}"
        who = "" if self.token == "admin" else f" as {self.token}"
        if self.scheme != "Bearer":
            who += f" scheme {self.scheme}"
        return f"{self.method} {self.path}{extra}{who}"


def _c(method: str, path: str, body: Any = None, **kw: Any) -> Call:
    return Call(method, path if path.startswith("/_") else S + path, body, **kw)


SCRIPT: list[Call] = [
    # -- server, registration ---------------------------------------------------------
    _c("GET", "/v1/server_version", token="none"),
    _c("GET", "/v1/register", token="none"),
    _c("POST", "/v1/register", {"nonce": "bogus", "username": "x", "password": "p",
                                "mac": "00"}, token="none"),
    _c("POST", "/v1/register", {}, token="none"),
    # -- auth families -------------------------------------------------------------------
    _c("GET", "/v2/users", token="none"),
    _c("GET", "/v2/users", token="bob"),
    _c("GET", "/v1/nonexistent_endpoint"),
    _c("GET", "/v2/users", scheme="bearer"),
    _c("GET", "/v2/users/"),
    _c("GET", "/v1/rooms/{room}/state/extra"),
    _c("GET", "/v2/users/notauserid"),
    _c("GET", "/v1/rooms/notaroomid"),
    # -- account validity ------------------------------------------------------------------
    _c("POST", "/v1/account_validity/validity", {"user_id": "{erin}", "expiration_ts": FAR}),
    _c("POST", "/v1/account_validity/validity", {"user_id": "{erin}"}),
    _c("POST", "/v1/account_validity/validity", {"expiration_ts": FAR}),
    # -- background updates ------------------------------------------------------------------
    _c("GET", "/v1/background_updates/enabled"),
    _c("POST", "/v1/background_updates/enabled", {"enabled": True}),
    _c("POST", "/v1/background_updates/enabled", {"enabled": "yes"}),
    _c("POST", "/v1/background_updates/start_job", {"job_name": "bogus"}),
    _c("POST", "/v1/background_updates/start_job", {}),
    # Paused, a started job stays current on Glia (Synapse is still busy with its own).
    # A fresh Synapse has this rebuild queued among its own updates for minutes, so the
    # first start is not compared; the second is refused by both as already queued.
    _c("POST", "/v1/background_updates/enabled", {"enabled": False}),
    _c("POST", "/v1/background_updates/start_job",
       {"job_name": "populate_stats_process_rooms"}, compare=False),
    _c("POST", "/v1/background_updates/start_job",
       {"job_name": "populate_stats_process_rooms"}),
    _c("GET", "/v1/background_updates/status", settle_status=True),
    _c("POST", "/v1/background_updates/enabled", {}),
    # -- event and user reports ---------------------------------------------------------------
    _c("GET", "/v1/event_reports"),
    _c("GET", "/v1/event_reports?from=0&limit=10&dir=b&user_id={bob}&room_id={room}"),
    _c("GET", "/v1/event_reports?from=-1"),
    _c("GET", "/v1/event_reports?dir=x"),
    _c("GET", "/v1/event_reports/{report}"),
    _c("GET", "/v1/event_reports/999999"),
    _c("GET", "/v1/event_reports/abc"),
    _c("DELETE", "/v1/event_reports/999999"),
    _c("GET", "/v1/user_reports"),
    _c("GET", "/v1/user_reports?dir=x"),
    _c("GET", "/v1/user_reports/{user_report}"),
    _c("GET", "/v1/user_reports/999999"),
    _c("DELETE", "/v1/user_reports/999999"),
    # -- experimental features ------------------------------------------------------------
    _c("GET", "/v1/experimental_features/{alice}"),
    _c("PUT", "/v1/experimental_features/{alice}", {"features": {"msc3881": True}}),
    _c("PUT", "/v1/experimental_features/{alice}", {"features": {"bogus": True}}),
    _c("PUT", "/v1/experimental_features/{alice}", {}),
    _c("GET", "/v1/experimental_features/@nobody:localhost"),
    # -- federation destinations ------------------------------------------------------------
    _c("GET", "/v1/federation/destinations"),
    _c("GET", "/v1/federation/destinations?order_by=bogus"),
    _c("GET", "/v1/federation/destinations/other.example"),
    _c("GET", "/v1/federation/destinations/other.example/rooms"),
    _c("POST", "/v1/federation/destinations/other.example/reset_connection", {}),
    # -- media ---------------------------------------------------------------------------
    _c("GET", "/v1/room/{room}/media"),
    _c("GET", "/v1/media/localhost/{media}"),
    _c("GET", "/v1/media/localhost/nonexistentmedia"),
    _c("GET", "/v1/media/other.example/nonexistentmedia"),
    _c("POST", "/v1/media/quarantine/localhost/{media}", {}),
    _c("POST", "/v1/media/unquarantine/localhost/{media}", {}),
    _c("POST", "/v1/room/{room}/media/quarantine", {}),
    _c("POST", "/v1/quarantine_media/{room}", {}),
    _c("POST", "/v1/user/{alice}/media/quarantine", {}),
    _c("GET", "/v1/media/quarantine_changes"),
    _c("POST", "/v1/media/protect/{media}", {}),
    _c("POST", "/v1/media/unprotect/{media}", {}),
    _c("GET", "/v1/users/{alice}/media"),
    _c("GET", "/v1/users/{alice}/media?order_by=media_length&dir=b"),
    _c("GET", "/v1/users/{alice}/media?order_by=bogus"),
    _c("GET", "/v1/users/@nobody:localhost/media"),
    _c("POST", "/v1/media/delete?before_ts=1000"),
    _c("POST", "/v1/media/delete"),
    _c("POST", "/v1/media/delete?before_ts=40000000000"),
    _c("POST", "/v1/media/other.example/delete?before_ts=40000000000"),
    _c("POST", "/v1/purge_media_cache?before_ts={now}"),
    _c("POST", "/v1/purge_media_cache?before_ts=1000"),
    _c("POST", "/v1/purge_media_cache"),
    # -- registration tokens ---------------------------------------------------------------
    _c("GET", "/v1/registration_tokens"),
    _c("GET", "/v1/registration_tokens?valid=true"),
    _c("POST", "/v1/registration_tokens/new", {"token": "compat1", "uses_allowed": 3}),
    _c("POST", "/v1/registration_tokens/new", {"token": "compat1"}),
    _c("POST", "/v1/registration_tokens/new", {}),
    _c("POST", "/v1/registration_tokens/new", {"uses_allowed": -1}),
    _c("POST", "/v1/registration_tokens/new", {"token": "bad token!"}),
    _c("GET", "/v1/registration_tokens/compat1"),
    _c("GET", "/v1/registration_tokens/unknowntoken"),
    _c("PUT", "/v1/registration_tokens/compat1", {"uses_allowed": 5, "expiry_time": FAR}),
    _c("PUT", "/v1/registration_tokens/compat1", {"uses_allowed": "x"}),
    _c("DELETE", "/v1/registration_tokens/compat1"),
    _c("DELETE", "/v1/registration_tokens/compat1"),
    # -- rooms -----------------------------------------------------------------------------
    _c("GET", "/v1/rooms"),
    _c("GET", "/v1/rooms?order_by=name&dir=b&limit=2"),
    _c("GET", "/v1/rooms?search_term=Compat"),
    _c("GET", "/v1/rooms?order_by=bogus"),
    _c("GET", "/v1/rooms?from=-1"),
    _c("GET", "/v1/rooms/{room}"),
    _c("GET", "/v1/rooms/!unknown:localhost"),
    _c("GET", "/v1/rooms/{room}/members"),
    _c("GET", "/v1/rooms/{room}/state"),
    _c("GET", "/v1/rooms/{room}/messages?dir=b&limit=3"),
    _c("GET", "/v1/rooms/{room}/messages?dir=x"),
    _c("GET", "/v1/rooms/{room}/timestamp_to_event?ts={now}&dir=b"),
    _c("GET", "/v1/rooms/{room}/timestamp_to_event"),
    _c("GET", "/v1/rooms/{room}/context/{event}?limit=2"),
    _c("GET", "/v1/rooms/{room}/block"),
    _c("PUT", "/v1/rooms/{public}/block", {"block": True}),
    _c("PUT", "/v1/rooms/{public}/block", {"block": False}),
    _c("PUT", "/v1/rooms/{public}/block", {"block": "x"}),
    _c("PUT", "/v1/rooms/{public}/block", {}),
    _c("POST", "/v1/rooms/{room}/make_room_admin", {"user_id": "{bob}"}),
    _c("POST", "/v1/rooms/{room}/make_room_admin", {"user_id": "@nobody:localhost"}),
    _c("GET", "/v1/rooms/{room}/forward_extremities"),
    _c("DELETE", "/v1/rooms/{room}/forward_extremities"),
    _c("GET", "/v1/rooms/{space}/hierarchy"),
    _c("GET", "/v1/rooms/{space}/hierarchy?limit=x"),
    _c("GET", "/v1/rooms/{space}/hierarchy?limit=0"),
    _c("GET", "/v1/rooms/!unknown:localhost/messages"),
    _c("GET", "/v1/rooms/!unknown:localhost/forward_extremities"),
    _c("GET", "/v1/fetch_event/{event2}"),
    _c("GET", "/v1/fetch_event/$unknown"),
    _c("GET", "/v1/scheduled_tasks"),
    _c("GET", "/v1/scheduled_tasks?job_status=bogus"),
    _c("POST", "/v1/join/{public}", {"user_id": "{carol}"}),
    _c("POST", "/v1/join/{public}", {}),
    _c("POST", "/v1/join/!unknown:localhost", {"user_id": "{carol}"}),
    _c("POST", "/v1/join/{public}", {"user_id": "@nobody:localhost"}),
    # -- server notices, statistics ----------------------------------------------------------
    _c("POST", "/v1/send_server_notice",
       {"user_id": "{bob}", "content": {"msgtype": "m.text", "body": "hi"}}),
    _c("PUT", "/v1/send_server_notice/txn1",
       {"user_id": "{bob}", "content": {"msgtype": "m.text", "body": "hi"}}),
    _c("POST", "/v1/send_server_notice", {"content": {"msgtype": "m.text", "body": "x"}}),
    _c("POST", "/v1/send_server_notice", {"user_id": "@nobody:localhost",
                                          "content": {"msgtype": "m.text", "body": "x"}}),
    _c("GET", "/v1/statistics/users/media"),
    _c("GET", "/v1/statistics/users/media?order_by=bogus"),
    _c("GET", "/v1/statistics/database/rooms"),
    # -- users -------------------------------------------------------------------------------
    _c("GET", "/v2/users"),
    _c("GET", "/v3/users"),
    _c("GET", "/v2/users?guests=false&name=ali&deactivated=true"),
    _c("GET", "/v2/users?order_by=bogus"),
    _c("GET", "/v2/users/{alice}"),
    _c("GET", "/v2/users/@nobody:localhost"),
    _c("PUT", "/v2/users/@newbie:localhost", {"password": "a new password",
                                                "displayname": "Newbie"}),
    _c("PUT", "/v2/users/@newbie:localhost", {"displayname": "Newbie 2"}),
    _c("PUT", "/v2/users/@newbie:localhost", {"admin": "x"}),
    _c("GET", "/v1/whois/{alice}"),
    _c("GET", "/_matrix/client/v3/admin/whois/{alice}"),
    _c("GET", "/_matrix/client/r0/admin/whois/{bob}"),
    _c("GET", "/v1/users/{alice}/admin"),
    _c("PUT", "/v1/users/{dave}/admin", {"admin": True}),
    _c("PUT", "/v1/users/{dave}/admin", {"admin": False}),
    _c("PUT", "/v1/users/{dave}/admin", {}),
    _c("GET", "/v1/users/{alice}/memberships"),
    _c("GET", "/v1/users/{alice}/joined_rooms"),
    _c("GET", "/v1/users/{alice}/sent_invite_count?from_ts=0"),
    _c("GET", "/v1/users/{alice}/cumulative_joined_room_count?from_ts=0"),
    _c("GET", "/v1/users/{alice}/accountdata"),
    _c("GET", "/v1/users/{alice}/pushers"),
    _c("GET", "/v1/users/@nobody:localhost/pushers"),
    _c("POST", "/v1/users/{alice}/_allow_cross_signing_replacement_without_uia", {}),
    _c("GET", "/v2/users/{alice}/devices"),
    _c("POST", "/v2/users/{alice}/devices", {"device_id": "NEWDEVICE"}),
    _c("POST", "/v2/users/{alice}/devices", {}),
    _c("GET", "/v2/users/{alice}/devices/{device}"),
    _c("GET", "/v2/users/{alice}/devices/NODEVICE"),
    _c("PUT", "/v2/users/{alice}/devices/{device}", {"display_name": "renamed"}),
    _c("DELETE", "/v2/users/{alice}/devices/NEWDEVICE"),
    _c("POST", "/v2/users/{alice}/delete_devices", {"devices": ["NODEVICE"]}),
    _c("POST", "/v2/users/{alice}/delete_devices", {}),
    _c("POST", "/v2/users/{alice}/delete_devices", {"devices": "NODEVICE"}),
    _c("PUT", "/v1/users/@nobody:localhost/admin", {"admin": True}),
    _c("POST", "/v1/users/@nobody:localhost/shadow_ban", {}),
    _c("GET", "/v1/users/{alice}/override_ratelimit"),
    _c("POST", "/v1/users/{alice}/override_ratelimit", {"messages_per_second": 0,
                                                        "burst_count": 0}),
    _c("POST", "/v1/users/{alice}/override_ratelimit", {"messages_per_second": -1}),
    _c("DELETE", "/v1/users/{alice}/override_ratelimit"),
    _c("GET", "/v1/username_available?username=freename"),
    _c("GET", "/v1/username_available?username=alice"),
    _c("GET", "/v1/username_available"),
    _c("GET", "/v1/auth_providers/oidc/users/someone"),
    _c("GET", "/v1/threepid/email/users/someone@example.org"),
    _c("GET", "/v1/search_users/{alice}?term=ali"),
    _c("POST", "/v1/users/{bob}/login", {}),
    _c("POST", "/v1/users/{bob}/login", {"valid_until_ms": "x"}),
    _c("POST", "/v1/users/{erin}/shadow_ban", {}),
    _c("DELETE", "/v1/users/{erin}/shadow_ban"),
    _c("POST", "/v1/users/@someone:other.example/shadow_ban", {}),
    _c("POST", "/v1/reset_password/{bob}", {"new_password": "another password 2",
                                            "logout_devices": False}),
    _c("POST", "/v1/reset_password/{bob}", {}),
    _c("POST", "/v1/reset_password/{bob}", {"new_password": "another password 3",
                                            "logout_devices": "x"}),
    _c("PUT", "/v1/suspend/{dave}", {"suspend": True}),
    _c("PUT", "/v1/suspend/{dave}", {"suspend": False}),
    _c("PUT", "/v1/suspend/{dave}", {}),
    _c("POST", "/v1/user/{alice}/redact", {"rooms": []}, save={"redact_id": "redact_id"}),
    _c("POST", "/v1/user/{alice}/redact", {}),
    _c("POST", "/v1/user/{bob}/redact", {"rooms": [], "limit": 0}),
    _c("GET", "/v1/user/redact_status/{redact_id}", settle=True),
    _c("GET", "/v1/user/redact_status/unknownid"),
    # -- removed from Synapse (404 M_UNRECOGNIZED), and the spec's newer admin paths ------
    _c("GET", "/v1/users/{alice}"),
    _c("POST", "/v1/purge_room", {"room_id": "{public}"}),
    _c("POST", "/v1/shutdown_room/{public}", {"new_room_user_id": "{cmpadmin}"}),
    _c("POST", "/v1/rooms/{public}/delete", {}),
    _c("POST", "/v1/delete_group/+group:localhost", {}),
    _c("GET", "/_matrix/client/v1/admin/suspend/{dave}"),
    _c("PUT", "/_matrix/client/v1/admin/suspend/{dave}", {"suspended": False}),
    _c("GET", "/_matrix/client/v1/admin/lock/{dave}"),
    _c("PUT", "/_matrix/client/v1/admin/lock/{dave}", {"locked": False}),
    # -- destructive, on their own fixtures ---------------------------------------------------
    _c("POST", "/v1/purge_history/{room}", {"delete_local_events": False,
                                            "purge_up_to_event_id": "{event2}"},
       save={"purge_id": "purge_id"}),
    _c("POST", "/v1/purge_history/{public}/$unknown", {}),
    _c("POST", "/v1/purge_history/{room}", {}),
    _c("POST", "/v1/purge_history/{room}", {"purge_up_to_ts": "x"}),
    _c("POST", "/v1/purge_history/{room}", {"purge_up_to_ts": 1000,
                                            "delete_local_events": "x"}),
    _c("GET", "/v1/purge_history_status/{purge_id}", settle=True),
    _c("GET", "/v1/purge_history_status/unknownid"),
    _c("DELETE", "/v1/event_reports/{report}"),
    _c("DELETE", "/v1/user_reports/{user_report}"),
    _c("DELETE", "/v1/media/localhost/{media2}"),
    _c("DELETE", "/v1/media/localhost/nonexistentmedia"),
    _c("DELETE", "/v1/users/{alice}/media"),
    _c("DELETE", "/v1/rooms/{doomed}", {"block": False}),
    _c("DELETE", "/v2/rooms/{doomed2}", {"purge": True}, save={"delete_id": "delete_id"}),
    _c("DELETE", "/v2/rooms/{doomed2}", {"purge": "x"}),
    _c("GET", "/v2/rooms/{doomed2}/delete_status", settle=True),
    _c("GET", "/v2/rooms/delete_status/{delete_id}", settle=True),
    _c("GET", "/v2/rooms/delete_status/unknownid"),
    _c("POST", "/v1/deactivate/{carol}", {"erase": False}),
    _c("POST", "/v1/deactivate/{carol}", {"erase": "x"}),
    _c("POST", "/v1/deactivate/@nobody:localhost", {}),
]
