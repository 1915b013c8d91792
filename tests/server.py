"""Run a real Glia as a subprocess on a free loopback port, for API tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.pg import free_port

SHARED_SECRET = "test-shared-secret"


class GliaProcess:
    """One Glia server: its data dir, its database, its port, its process."""

    def __init__(self, database_url: str | None, extra_env: dict[str, str] | None = None,
                 server_name: str = "localhost") -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="glia-test-"))
        self.port = free_port()
        self.server_name = server_name
        self.env = {
            **os.environ,
            "GLIA_SERVER_NAME": server_name,
            "GLIA_DATA_DIR": str(self.data_dir),
            "GLIA_REGISTRATION__ENABLED": "true",
            "GLIA_REGISTRATION__SHARED_SECRET": SHARED_SECRET,
            "GLIA_PASSWORD__BCRYPT_ROUNDS": "4",
            "GLIA_RATELIMIT__ENABLED": "false",
            "GLIA_DATABASE__SQLITE_SYNCHRONOUS": "normal",
            "GLIA_LOGGING__LEVEL": "INFO",
            # The tests' push gateways listen on 127.0.0.1.
            "GLIA_PUSH__ALLOW_PRIVATE_GATEWAYS": "true",
            # Tests move the server's clock forward instead of sleeping.
            "GLIA_TESTING__CLOCK_CONTROL": "true",
            # Federate with no one but itself, so no test makes it look up a remote name
            # (the federation tests name their servers instead).
            "GLIA_FEDERATION__DOMAIN_WHITELIST": server_name,
            **(extra_env or {}),
        }
        if database_url:
            self.env["GLIA_DATABASE__URL"] = database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GliaProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "glia", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"glia exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/_matrix/client/versions", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"glia did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
