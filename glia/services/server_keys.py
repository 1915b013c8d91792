"""The server's ed25519 signing key: loaded at start, created once if missing."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from signedjson.types import SigningKey

from glia.config import Config
from glia.protocol.signing import generate_signing_key, parse_signing_keys, serialize_signing_keys

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
