"""Start and stop Synapse, Glia and a throwaway PostgreSQL cluster, all on loopback.

Every server runs in its own process group (``start_new_session``) so stopping it by PID
also stops anything it forked, and nothing else. Both homeservers get the same treatment:
rate limits lifted, the same bcrypt cost, a shared registration secret, no federation and
no outbound traffic.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

SYNAPSE_VERSION = "1.163.2"
SERVER_NAME = "localhost"
#: A "very high" Synapse rate limit: effectively none.
_UNLIMITED = {"per_second": 1_000_000, "burst_count": 1_000_000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_binary(name: str) -> str:
    """A PostgreSQL binary from PATH, or from the usual Debian location."""
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    raise RuntimeError(f"PostgreSQL binary {name!r} not found; install PostgreSQL")


class Proc:
    """A child process in its own process group, stopped by its PID."""

    def __init__(self, name: str, argv: list[str], log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=cwd, start_new_session=True,
            )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it does not exit in time."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Server:
    """One homeserver under test, as the scenarios see it."""

    name: str
    url: str
    shared_secret: str
    proc: Proc
    database: str
    version: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def wait_ready(proc: Proc, url: str, timeout: float) -> None:
    """Wait until ``GET /_matrix/client/versions`` answers 200, or fail with the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            if httpx.get(f"{url}/_matrix/client/versions", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{proc.name} did not answer within {timeout:.0f} s:\n{proc.tail()}")


def server_version(url: str) -> str:
    try:
        r = httpx.get(f"{url}/_synapse/admin/v1/server_version", timeout=5)
        # Synapse appends "(b=branch,commit)" from whatever git repo it runs in: drop it.
        return str(r.json().get("server_version", "")).split(" (")[0]
    except (httpx.HTTPError, ValueError, AttributeError):
        return ""


# -- PostgreSQL --------------------------------------------------------------------------


class Postgres:
    """A throwaway cluster from the machine's binaries; as root it runs as ``nobody``."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.data = directory / "data"
        self.port = free_port()
        self.user = "nobody" if os.geteuid() == 0 else None
        self.started = False

    def _run(self, *argv: str) -> None:
        cmd = list(argv) if self.user is None else ["runuser", "-u", self.user, "--", *argv]
        out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {out.stderr.strip()[-500:]}")

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            shutil.chown(self.dir, self.user)
        self._run(find_binary("initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--locale=C")
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-w", "-t", "60", "start", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
                  " -c max_connections=200")
        self.started = True

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def create_database(self, name: str) -> None:
        """An empty UTF8 database with C collation (Synapse insists), from template0."""
        sql = (f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' "
               "TEMPLATE template0")
        subprocess.run([find_binary("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                        "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)

    def dsn(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if not self.started:
            return
        try:
            self._run(find_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        except RuntimeError:
            # pg_ctl could not stop it: the postmaster is ours, stop it by its PID.
            with contextlib.suppress(OSError, ValueError):
                os.kill(self.pid, signal.SIGQUIT)
        self.started = False


# -- Synapse -----------------------------------------------------------------------------


def ensure_synapse(venv: Path, log: Path, postgres: bool) -> Path:
    """Install Synapse into its own virtualenv unless it is already there; its python."""
    python = venv / "bin" / "python"
    check = f"import synapse; assert synapse.__version__.startswith('{SYNAPSE_VERSION}')"
    if postgres:
        check += "; import psycopg2"
    if python.exists() and subprocess.run([str(python), "-c", check],
                                          capture_output=True).returncode == 0:
        return python
    print(f"Installing Synapse {SYNAPSE_VERSION} into {venv} (once; log: {log}) …", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    with open(log, "ab") as out:
        done = subprocess.run([*pip, f"matrix-synapse[postgres]=={SYNAPSE_VERSION}"],
                              stdout=out, stderr=subprocess.STDOUT).returncode == 0
        if not done or subprocess.run([str(python), "-c", check]).returncode != 0:
            # psycopg2 from source needs pg_config and a compiler; the binary wheel doesn't.
            subprocess.run([*pip, f"matrix-synapse=={SYNAPSE_VERSION}", "psycopg2-binary"],
                           stdout=out, stderr=subprocess.STDOUT, check=True)
    return python


def synapse_config(config: dict[str, Any], *, data: Path, port: int, bcrypt_rounds: int,
                   pg: Postgres | None) -> dict[str, Any]:
    """Turn the generated config into the benchmark's: loopback, no limits, no federation."""
    config.update({
        "listeners": [{
            "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
            "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
        }],
        "registration_shared_secret": secrets.token_urlsafe(32),
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "url_preview_enabled": False,
        "bcrypt_rounds": bcrypt_rounds,
        "rc_federation": {"window_size": 1000, "sleep_limit": 1_000_000,
                          "sleep_delay": 1, "reject_limit": 1_000_000,
                          "concurrent": 1_000_000},
    })
    for key in ("rc_message", "rc_registration", "rc_registration_token_validity",
                "rc_admin_redaction", "rc_joins_per_room", "rc_key_requests",
                "rc_3pid_validation", "rc_third_party_invite", "rc_media_create",
                "rc_delayed_event_mgmt", "rc_room_creation", "rc_reports",
                "rc_user_directory", "rc_profile"):
        config[key] = dict(_UNLIMITED)
    for key, subkeys in (("rc_login", ("address", "account", "failed_attempts")),
                         ("rc_joins", ("local", "remote")),
                         ("rc_invites", ("per_room", "per_user", "per_issuer")),
                         ("rc_presence", ("per_user",))):
        config[key] = {sub: dict(_UNLIMITED) for sub in subkeys}
    if pg is None:
        config["database"] = {"name": "sqlite3", "args": {"database": str(data / "homeserver.db")}}
    else:
        config["database"] = {"name": "psycopg2", "args": {
            "user": "postgres", "host": "127.0.0.1", "port": pg.port, "database": "synapse",
            "cp_min": 5, "cp_max": 10,
        }}
    return config


def start_synapse(python: Path, data: Path, *, bcrypt_rounds: int,
                  pg: Postgres | None) -> Server:
    """Generate a config non-interactively, edit it, start Synapse and wait for it."""
    data.mkdir(parents=True, exist_ok=True)
    config_path = data / "homeserver.yaml"
    subprocess.run(
        [str(python), "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME,
         "--config-path", str(config_path), "--generate-config", "--report-stats=no",
         "--data-directory", str(data)],
        check=True, capture_output=True, cwd=data,
    )
    port = free_port()
    config = synapse_config(yaml.safe_load(config_path.read_text()), data=data, port=port,
                            bcrypt_rounds=bcrypt_rounds, pg=pg)
    if pg is not None:
        pg.create_database("synapse")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    proc = Proc("synapse", [str(python), "-m", "synapse.app.homeserver", "-c",
                            str(config_path)], data / "stdout.log", cwd=data)
    url = f"http://127.0.0.1:{port}"
    server = Server("synapse", url, config["registration_shared_secret"], proc,
                    "PostgreSQL" if pg else "SQLite")
    try:
        wait_ready(proc, url, timeout=240)
    except BaseException:
        proc.stop()
        raise
    server.version = server_version(url) or SYNAPSE_VERSION
    return server


# -- Glia --------------------------------------------------------------------------------


def start_glia(glia_cmd: list[str], data: Path, *, bcrypt_rounds: int,
               pg: Postgres | None, database: str = "glia",
               extra_env: dict[str, str] | None = None) -> Server:
    """``glia init`` then ``glia serve``, with the benchmark's overrides as GLIA_* variables.

    ``database`` names the PostgreSQL database to create; ``extra_env`` adds settings
    (``GLIA_DATABASE__SEVERAL_PROCESSES``). What it takes to start another process on
    the same configuration is kept in ``Server.info`` (see ``serve_another_glia``).
    """
    data.mkdir(parents=True, exist_ok=True)
    config_path = data / "glia.yaml"
    init = subprocess.run([*glia_cmd, "init", "--server-name", SERVER_NAME, "--data-dir",
                           str(data / "data"), "-c", str(config_path)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if init.returncode != 0:
        raise RuntimeError(f"glia init failed: {(init.stderr or init.stdout).strip()[-500:]}")
    config = yaml.safe_load(config_path.read_text())
    secret = str(((config or {}).get("registration") or {}).get("shared_secret") or "")
    if not secret:
        secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "GLIA_REGISTRATION__SHARED_SECRET": secret,
        "GLIA_RATELIMIT__ENABLED": "false",
        "GLIA_PASSWORD__BCRYPT_ROUNDS": str(bcrypt_rounds),
        **(extra_env or {}),
    }
    if pg is not None:
        pg.create_database(database)
        env["GLIA_DATABASE__URL"] = pg.dsn(database)
    server = _serve_glia(glia_cmd, config_path, env, data, "glia", secret,
                         "PostgreSQL" if pg else "SQLite")
    server.info.update({"glia_cmd": glia_cmd, "config_path": config_path, "env": env,
                        "data": data, "pg": pg, "bcrypt_rounds": bcrypt_rounds})
    return server


def serve_another_glia(first: Server, name: str) -> Server:
    """A second ``glia serve`` on the first one's configuration and database (another
    port, its own log), as a deployment of several processes runs them."""
    info = first.info
    return _serve_glia(info["glia_cmd"], info["config_path"], info["env"], info["data"],
                       name, first.shared_secret, first.database)


def _serve_glia(glia_cmd: list[str], config_path: Path, env: dict[str, str], data: Path,
                name: str, secret: str, database: str) -> Server:
    port = free_port()
    proc = Proc(name, [*glia_cmd, "serve", "-c", str(config_path), "--host", "127.0.0.1",
                       "--port", str(port)], data / f"{name}-stdout.log", env=env, cwd=data)
    url = f"http://127.0.0.1:{port}"
    server = Server("glia", url, secret, proc, database)
    try:
        wait_ready(proc, url, timeout=120)
    except BaseException:
        proc.stop()
        raise
    server.version = server_version(url)
    return server
