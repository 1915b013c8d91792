"""Every difference the compatibility test may find, with its reason. A difference not
listed here fails the test, and so does an entry that no longer differs (fixed: remove
it), so the tables stay true. Calls are named by ``Call.label``."""

from __future__ import annotations

_SQLITE_BOOLS = ("Synapse on SQLite answers its boolean columns as 0/1; on PostgreSQL, as "
                 "JSON booleans, which Glia answers on both engines (tools test truthiness)")
_ORIGIN = ("Glia's events carry the top-level `origin` key that room versions 1-10 define; "
           "Synapse stopped setting it. An extra key tools ignore")

#: Deliberate: Glia answers differently on purpose (an extra field tools ignore, a more
#: precise error, a Synapse-on-SQLite artefact). Each is also listed in docs/admin-api.md
#: ("Differences from Synapse").
DELIBERATE: dict[str, str] = {
    "GET /_synapse/admin/v1/media/localhost/{media}": _SQLITE_BOOLS,
    "GET /_synapse/admin/v1/media/quarantine_changes": _SQLITE_BOOLS,
    "GET /_synapse/admin/v1/users/{alice}/media": _SQLITE_BOOLS,
    "GET /_synapse/admin/v1/users/{alice}/media?order_by=media_length&dir=b": _SQLITE_BOOLS,
    "GET /_synapse/admin/v1/statistics/database/rooms":
        "Synapse serves room sizes only on PostgreSQL (400 M_UNKNOWN on SQLite); Glia on "
        "both engines",
    "POST /_synapse/admin/v1/join/!unknown:localhost {\"user_id\": \"{carol}\"}":
        "an unknown room: Glia says 404 M_NOT_FOUND; Synapse 404 M_UNKNOWN \"No known "
        "servers\" (it would have tried federation)",
    "POST /_synapse/admin/v1/deactivate/{carol} {\"erase\": false}":
        "Glia also answers `leave_rooms_job_id`, the job that takes the user out of their "
        "rooms (Synapse does it unobservably in the background)",
    "GET /_matrix/client/v1/admin/suspend/{dave}":
        "Glia serves the spec's account moderation endpoints (v1.18), which Synapse "
        "1.163 does not yet",
    "PUT /_matrix/client/v1/admin/lock/{dave} {\"locked\": false}":
        "Glia serves the spec's account moderation endpoints (v1.18), which Synapse "
        "1.163 does not yet",
    "PUT /_matrix/client/v1/admin/suspend/{dave} {\"suspended\": false}":
        "Glia serves the spec's account moderation endpoints (v1.18), which Synapse "
        "1.163 does not yet",
    "GET /_matrix/client/v1/admin/lock/{dave}":
        "Glia serves the spec's account moderation endpoints (v1.18), which Synapse "
        "1.163 does not yet",
    "GET /_synapse/admin/v2/users scheme bearer":
        "HTTP authentication schemes are case-insensitive (RFC 9110), so Glia accepts "
        "`bearer`; Synapse 1.163.2 answers 401 M_MISSING_TOKEN (the issue assumed it "
        "accepts it)",
}

#: KNOWN-PENDING: differences in the issue's "Wrong shapes or semantics" list, which the
#: `admin-shapes` branch is fixing. The lead removes each entry when its fix merges.
PENDING: dict[str, str] = {
    "GET /_synapse/admin/v1/event_reports/{report}":
        "reports: event_json.unsigned present (and `origin`: " + _ORIGIN + ")",
    "GET /_synapse/admin/v1/rooms/{room}/state":
        "legacy keys (age, user_id, replaces_state, prev_content); state events as stored "
        "(power-level defaults, member displayname, m.topic)",
    "GET /_synapse/admin/v1/rooms/{room}/messages?dir=b&limit=3":
        "legacy keys (age, user_id)",
    "GET /_synapse/admin/v1/rooms/{room}/context/{event}?limit=2":
        "legacy keys (age, user_id, replaces_state, prev_content); state events as stored",
    "POST /_synapse/admin/v1/rooms/{room}/make_room_admin {\"user_id\": \"@nobody:localhost\"}":
        "bad input families: make_room_admin errcodes (Synapse 200 for an unknown user)",
    "GET /_synapse/admin/v1/rooms/{room}/forward_extremities":
        "rooms: forward_extremities state_group",
    "GET /_synapse/admin/v1/fetch_event/{event2}":
        "fetch_event: event_id and unsigned (and `origin`: " + _ORIGIN + ")",
    "GET /_synapse/admin/v1/scheduled_tasks": "scheduled_tasks: result shapes",
    "GET /_synapse/admin/v2/users": "users list: server-notices user hidden, no `approved`",
    "GET /_synapse/admin/v3/users": "users list: server-notices user hidden, no `approved`",
    "GET /_synapse/admin/v2/users?guests=false&name=ali&deactivated=true":
        "users: no `approved` in 1.163",
    "GET /_synapse/admin/v2/users/{alice}": "users: no `approved` in 1.163",
    "PUT /_synapse/admin/v2/users/@newbie:localhost "
    "{\"displayname\": \"Newbie\", \"password\": \"a new password\"}":
        "users: no `approved` in 1.163",
    "PUT /_synapse/admin/v2/users/@newbie:localhost {\"displayname\": \"Newbie 2\"}":
        "users: no `approved` in 1.163",
    "GET /_synapse/admin/v1/whois/{alice}": "whois: connections under devices[\"\"]",
    "GET /_matrix/client/v3/admin/whois/{alice}": "whois: connections under devices[\"\"]",
    "GET /_matrix/client/r0/admin/whois/{bob}": "whois: connections under devices[\"\"]",
    "GET /_synapse/admin/v1/search_users/{alice}?term=ali":
        "users: Synapse's legacy search_users is served",
    # Bad input families. Measured against Synapse 1.163.2, several answers are not what
    # the issue expected: Synapse is lenient where the issue says it refuses.
    "GET /_synapse/admin/v2/users/":
        "unknown admin sub-paths (Synapse: 400 M_INVALID_PARAM, an empty user ID)",
    "GET /_synapse/admin/v1/rooms/notaroomid":
        "malformed room ID (Synapse 1.163.2: 404 M_NOT_FOUND, not 400)",
    "GET /_synapse/admin/v1/rooms/{space}/hierarchy?limit=0":
        "rooms: hierarchy limit 0 (Synapse 1.163.2: 200, not the 400 the issue expects)",
    "GET /_synapse/admin/v1/rooms/!unknown:localhost/messages":
        "rooms: unknown room on messages (Synapse 1.163.2: 200 with an empty chunk, not "
        "the 404 the issue expects)",
    "GET /_synapse/admin/v1/rooms/!unknown:localhost/forward_extremities":
        "rooms: unknown room on forward_extremities (Synapse 1.163.2: 200, not 404)",
    "POST /_synapse/admin/v2/users/{alice}/delete_devices {\"devices\": \"NODEVICE\"}":
        "non-list delete_devices (Synapse 1.163.2: 200, not the 400 the issue expects)",
    "PUT /_synapse/admin/v1/users/@nobody:localhost/admin {\"admin\": true}":
        "users: PUT admin on an unknown local user is 404 M_UNKNOWN",
    "POST /_synapse/admin/v1/users/@nobody:localhost/shadow_ban {}":
        "users: shadow_ban on an unknown local user is 404 M_UNKNOWN",
    "POST /_synapse/admin/v1/reset_password/{bob} "
    "{\"logout_devices\": \"x\", \"new_password\": \"another password 3\"}":
        "non-boolean logout_devices (Synapse 1.163.2: 200, not the 400 the issue expects)",
    "POST /_synapse/admin/v1/user/{bob}/redact {\"limit\": 0, \"rooms\": []}":
        "users: redact accepts limit 0",
    "POST /_synapse/admin/v1/purge_history/{room} "
    "{\"delete_local_events\": \"x\", \"purge_up_to_ts\": 1000}":
        "non-boolean delete_local_events (Synapse checks the timestamp first: 404 "
        "M_NOT_FOUND, nothing to purge before it)",
}
