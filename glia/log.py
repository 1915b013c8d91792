"""Logging setup and the rule that secrets never reach a log line.

``redact_query`` strips ``access_token`` (and anything else secret) from a request
target before it is logged; ``redact_params`` does the same for JSON parameters that
the audit log and debug logging record.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

SECRET_KEYS = frozenset(
    {"access_token", "password", "new_password", "token", "mac", "refresh_token",
     "shared_secret", "nonce", "session_key", "auth"}
)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # uvicorn's own access log prints the raw query string (with tokens): ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True


def redact_query(query: str) -> str:
    """A query string with secret values replaced by ``<redacted>``."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "<redacted>" if k in SECRET_KEYS else v) for k, v in pairs])


def redact_params(value: Any) -> Any:
    """A copy of a JSON value with secret fields replaced, for logs and the audit trail."""
    if isinstance(value, Mapping):
        return {
            k: "<redacted>" if k in SECRET_KEYS else redact_params(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_params(v) for v in value]
    return value
