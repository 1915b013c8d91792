"""Password hashes: Synapse's (made by bcrypt releases that used the first 72 bytes of
a password) verify, and so do Glia's, for passwords of any accepted length."""

from __future__ import annotations

import asyncio
from typing import Any

import bcrypt

from glia.config import Config
from glia.services.auth import AuthService

LONG = "€" * 30 + " and then some"  # 104 bytes


def _auth() -> AuthService:
    storage: Any = None  # hashing never touches storage
    return AuthService(Config(), storage)


def test_synapse_hash_of_a_long_password_verifies() -> None:
    # What bcrypt < 5 stored for LONG (Synapse's default pepper is empty).
    synapse_hash = bcrypt.hashpw(LONG.encode()[:72], bcrypt.gensalt(4)).decode()
    auth = _auth()
    assert asyncio.run(auth.check_password(LONG, synapse_hash))
    assert not asyncio.run(auth.check_password(LONG[:20], synapse_hash))


def test_own_hash_of_a_long_password_verifies() -> None:
    auth = _auth()
    hashed = asyncio.run(auth.hash_password(LONG))
    assert asyncio.run(auth.check_password(LONG, hashed))
    assert not asyncio.run(auth.check_password(LONG[:23], hashed))


def test_not_a_bcrypt_hash_never_verifies() -> None:
    assert not asyncio.run(_auth().check_password("pw", "plain"))
