"""The Synapse the admin API is compared with (see tests/synapse_process.py for how it
is installed and run), configured for the comparison: no federation (no federation
listener, an empty domain allow-list), account validity as Glia's, rate limits out of
the way, and server notices."""

from __future__ import annotations

from tests.synapse_process import SynapseProcess

#: Account validity as both servers are configured for the comparison (seconds).
VALIDITY_PERIOD_S = 30 * 86400
#: A bucket no scripted run empties (Synapse's rate limits cannot be switched off).
_UNLIMITED = {"per_second": 10000, "burst_count": 10000}
_RATE_LIMITS = ("rc_message", "rc_registration", "rc_joins", "rc_invites",
                "rc_admin_redaction", "rc_3pid_validation", "rc_media_create",
                "rc_room_creation", "rc_delayed_event_mgmt", "rc_reports", "rc_presence")

_SETTINGS = {
    "federation_domain_whitelist": [],
    "account_validity": {"enabled": True, "period": f"{VALIDITY_PERIOD_S}s"},
    "server_notices": {"system_mxid_localpart": "server",
                       "system_mxid_display_name": "Server Notices",
                       "room_name": "Server Notices"},
    "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED,
                 "failed_attempts": _UNLIMITED},
    **{name: _UNLIMITED for name in _RATE_LIMITS},
}


def compat_synapse() -> SynapseProcess:
    """A Synapse named ``localhost`` (as the shared Glia is) set up for the comparison."""
    return SynapseProcess("localhost", _SETTINGS)
