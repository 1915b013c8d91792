"""Schema migrations: numbered SQL files, one text for both engines.

``schema/NNNN_name.sql`` runs on both engines; an optional ``NNNN_name.sqlite.sql`` or
``NNNN_name.postgres.sql`` beside it runs afterwards on that engine only, for the rare
thing the two cannot share (full-text indexes). Each migration is applied in its own
transaction and recorded in ``schema_migrations``. A database with a version newer than
this code knows is refused rather than silently misused.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

from glia.clock import now_ms
from glia.storage.engine import Engine, Executor

logger = logging.getLogger(__name__)

_FILE = re.compile(r"([0-9]{4})_([a-z0-9_]+)\.sql")


class SchemaTooNew(Exception):
    """The database was migrated by a newer Glia."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    common: str
    engine_specific: dict[str, str]


def available_migrations() -> list[Migration]:
    folder = resources.files("glia.storage") / "schema"
    files = {entry.name: entry.read_text() for entry in folder.iterdir() if entry.is_file()}
    migrations = []
    for filename, text in files.items():
        match = _FILE.fullmatch(filename)
        if not match:
            continue
        stem = filename.removesuffix(".sql")
        specific = {
            engine: files[f"{stem}.{engine}.sql"]
            for engine in ("sqlite", "postgres")
            if f"{stem}.{engine}.sql" in files
        }
        migrations.append(Migration(int(match.group(1)), match.group(2), text, specific))
    return sorted(migrations, key=lambda m: m.version)


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_ts BIGINT NOT NULL
)"""


async def applied_versions(executor: Executor) -> set[int]:
    rows = await executor.fetchall("SELECT version FROM schema_migrations")
    return {int(r["version"]) for r in rows}


async def migrate(engine: Engine) -> list[Migration]:
    """Apply every pending migration; returns the ones applied."""
    applied_now: list[Migration] = []
    async with engine.migration_lock() as tx:
        await tx.execute(_CREATE_TABLE)
        done = await applied_versions(tx)
        known = available_migrations()
        newest_known = max((m.version for m in known), default=0)
        if done and max(done) > newest_known:
            raise SchemaTooNew(
                f"the database has schema version {max(done)}, but this Glia only knows "
                f"up to {newest_known}: upgrade Glia"
            )
        for migration in known:
            if migration.version in done:
                continue
            logger.info("applying migration %04d_%s", migration.version, migration.name)
            await engine.run_script(tx, migration.common)
            extra = migration.engine_specific.get(engine.name)
            if extra:
                await engine.run_script(tx, extra)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_ts) VALUES (?, ?, ?)",
                migration.version, migration.name, now_ms(),
            )
            applied_now.append(migration)
        await engine.sync_counters(tx)
    return applied_now
