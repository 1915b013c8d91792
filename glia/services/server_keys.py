"""The server's ed25519 signing key: loaded at start, created once if missing, rotated
by ``glia rotate-signing-key``."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from signedjson.types import SigningKey

from glia.config import Config
from glia.protocol.signing import (
    generate_signing_key,
    key_id,
    parse_signing_keys,
    serialize_signing_keys,
    verify_key_base64,
    verify_key_of,
)
from glia.storage import Storage
from glia.storage.server_keys import OwnOldKey

logger = logging.getLogger(__name__)


def create_signing_key_file(path: Path) -> SigningKey:
    """Write a new key, readable by its owner only; FileExistsError if one is there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_signing_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(serialize_signing_keys([key]))
    return key


def load_or_create_signing_key(config: Config) -> SigningKey:
    path = config.resolve(config.signing_key_path)
    if path.exists():
        keys = parse_signing_keys(path.read_text())
        if not keys:
            raise ValueError(f"{path} holds no signing key")
        return keys[0]
    key = create_signing_key_file(path)
    logger.info("generated a new signing key in %s", path)
    return key


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str


async def rotate_signing_key(config: Config, storage: Storage, now_ms: int) -> Rotation:
    """Replace the signing key with a new one. The old key's public half is recorded
    first (published under ``old_verify_keys``, expired now, so events it signed still
    verify); then the key file is replaced atomically. A running server keeps signing
    with the key it loaded until it restarts."""
    path = config.resolve(config.signing_key_path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no signing key to rotate (glia init writes one)")
    old = load_or_create_signing_key(config)
    new = generate_signing_key()
    if key_id(new) == key_id(old):
        new = generate_signing_key()
    await storage.server_keys.add_own_old_key(
        OwnOldKey(key_id(old), verify_key_base64(verify_key_of(old)), now_ms))
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(serialize_signing_keys([new]))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    logger.info("rotated the signing key: %s replaces %s", key_id(new), key_id(old))
    return Rotation(key_id(old), key_id(new))
