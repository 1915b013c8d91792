"""A real Synapse on loopback for the tests that compare with it or federate with it:
installed once into its own virtual environment (cached outside the repository, keyed by
version), started from a configuration the test gives (on top of the settings every such
Synapse shares: SQLite, the tests' registration shared secret, no key servers, no stats),
and stopped after."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.pg import free_port
from tests.server import SHARED_SECRET

#: The Synapse release Glia is compared and federated with (the issues' reference).
SYNAPSE_VERSION = "1.163.2"
#: Where the virtual environment is kept between runs (``GLIA_COMPAT_CACHE`` overrides).
CACHE = Path(os.environ.get("GLIA_COMPAT_CACHE")
             or Path.home() / ".cache" / "glia-compat")


def unavailable(reason: str) -> None:
    """Without Synapse the tests against it cannot run: in CI that fails the run (a test
    that silently skips checks nothing); on a developer's machine it skips, saying why."""
    if os.environ.get("CI"):
        pytest.fail(f"Synapse is needed for the tests against it: {reason}")
    pytest.skip(f"Synapse unavailable: {reason}")


def synapse_python() -> Path:
    """The cached environment's interpreter, installing Synapse on first use."""
    venv = CACHE / f"synapse-{SYNAPSE_VERSION}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = ([sys.executable, "-m", "venv", "--clear", str(venv)],
             [str(python), "-m", "pip", "install", "-q", f"matrix-synapse=={SYNAPSE_VERSION}"])
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            unavailable(f"{' '.join(step[:4])} failed:\n{done.stderr[-3000:]}")
    marker.write_text(SYNAPSE_VERSION)
    return python


def base_config(data: Path, server_name: str, client_port: int) -> dict[str, Any]:
    """What every test Synapse has: a plain-HTTP client listener on loopback (the admin
    API included), SQLite in ``data``, the tests' shared secret, no key servers."""
    return {
        "server_name": server_name,
        "pid_file": str(data / "homeserver.pid"),
        "listeners": [{"port": client_port, "bind_addresses": ["127.0.0.1"], "type": "http",
                       "tls": False, "x_forwarded": False,
                       "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(data / "homeserver.db")}},
        "log_config": str(data / "log.yaml"),
        "media_store_path": str(data / "media_store"),
        "signing_key_path": str(data / "signing.key"),
        "registration_shared_secret": SHARED_SECRET,
        "enable_registration": False,
        "report_stats": False,
        "macaroon_secret_key": "test-macaroon-secret",
        "form_secret": "test-form-secret",
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "url_preview_enabled": False,
        "enable_metrics": False,
        "bcrypt_rounds": 4,
    }


def _log_config(data: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                              "filename": str(data / "homeserver.log")}},
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


class SynapseProcess:
    """One Synapse with its own data directory and a client listener on a free loopback
    port; ``settings`` adds to or overrides :func:`base_config`, ``listeners`` are
    listeners besides the client one."""

    def __init__(self, server_name: str = "localhost", settings: dict[str, Any] | None = None,
                 listeners: list[dict[str, Any]] | None = None) -> None:
        self.python = synapse_python()
        self.data = Path(tempfile.mkdtemp(prefix="glia-test-synapse-"))
        self.port = free_port()
        self.server_name = server_name
        self.settings = settings or {}
        self.listeners = listeners or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SynapseProcess:
        config = self.data / "homeserver.yaml"
        settings = base_config(self.data, self.server_name, self.port)
        settings["listeners"] = [*settings["listeners"], *self.listeners]
        config.write_text(yaml.safe_dump({**settings, **self.settings}))
        (self.data / "log.yaml").write_text(yaml.safe_dump(_log_config(self.data)))
        seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        (self.data / "signing.key").write_text(f"ed25519 a_syn {seed}\n")
        out = open(self.data / "stdout.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config)],
            cwd=self.data, stdout=out, stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("SYNAPSE_")})
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                unavailable(f"Synapse exited early:\n{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        unavailable(f"Synapse did not start in 90 s:\n{self.log()[-4000:]}")
        return self

    def log(self) -> str:
        parts = [p.read_text(errors="replace") for p in
                 (self.data / "stdout.log", self.data / "homeserver.log") if p.exists()]
        return "\n".join(parts)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
