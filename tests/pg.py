"""A throwaway PostgreSQL cluster for the test run, from the machine's binaries.

Used when ``GLIA_TEST_POSTGRES`` gives no DSN. PostgreSQL refuses to run as root, so
as root the cluster runs as ``nobody``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _find_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    raise RuntimeError(f"PostgreSQL binary {name!r} not found; install PostgreSQL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="glia-pg-"))
        self.port = free_port()
        self._as_nobody = os.geteuid() == 0
        self._counter = 0

    def _run(self, *cmd: str) -> None:
        if self._as_nobody:
            cmd = ("runuser", "-u", "nobody", "--", *cmd)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        data = self.dir / "data"
        if self._as_nobody:
            os.chmod(self.dir, 0o777)
        self._run(_find_binary("initdb"), "-D", str(data), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--locale=C")
        self._run(
            _find_binary("pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-w", "start",
            "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
                  " -c max_connections=200 -c full_page_writes=off",
        )

    def stop(self) -> None:
        try:
            self._run(_find_binary("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                      "stop")
        finally:
            # A run leaves hundreds of databases (gigabytes in many small files): they
            # are removed in the background rather than holding the run's end for a
            # minute.
            subprocess.Popen(["rm", "-rf", str(self.dir)], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def create_database(admin_dsn: str, name: str, template: str = "template0") -> str:
    """Create a database, empty or a copy of ``template``; returns its DSN."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\'')
        finally:
            await conn.close()

    asyncio.run(run())
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{name}"


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")
