"""Canonical 3PID addresses (the spec's appendix "3PID Types"): the one form an address
is stored, looked up and compared in, so ``Bob@Example.ORG`` finds ``bob@example.org``."""

from __future__ import annotations

import re

from glia import errors

__all__ = ["canonical_address", "canonical_email"]

#: A plausible address: something, one @, a domain with a dot-free or dotted name.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def canonical_email(address: str) -> str:
    """Synapse's canonical form: trimmed and case-folded (the appendix asks for the
    domain lowercased and Unicode case folding); refused (``M_INVALID_PARAM``) unless it
    looks like an address."""
    address = address.strip().casefold()
    if not _EMAIL.fullmatch(address) or len(address) > 500:
        raise errors.invalid_param("Unable to parse email address")
    return address


def canonical_address(medium: str, address: str) -> str:
    """``address`` in its medium's canonical form. Email is the one medium this server
    canonicalises; other addresses (``msisdn`` digits) are taken as given, as the spec
    asks clients to send them canonical."""
    return canonical_email(address) if medium == "email" else address
