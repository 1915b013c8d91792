"""The ``glia`` command: init, serve, migrate, register-user (run as real subprocesses)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from glia.config import Config, load_config
from glia.storage import open_storage
from glia.storage.migrate import available_migrations
from glia.storage.users import User
from tests.kit import PASSWORD, Kit, unique, wait_until
from tests.pg import free_port
from tests.server import SHARED_SECRET, GliaProcess


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any GLIA_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLIA_")}
    env.update(extra)
    return env


def run_glia(*args: str, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glia", *args], cwd=cwd, env=env or clean_env(),
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def db_user(database_url: str, user_id: str) -> User | None:
    """Read a user row straight from the server's database (there's no admin API yet)."""

    async def read() -> User | None:
        config = Config(database=dataclasses.replace(Config().database, url=database_url))
        storage = await open_storage(config, run_migrations=False)
        try:
            return await storage.users.get(user_id)
        finally:
            await storage.close()

    return asyncio.run(read())


# -- init ------------------------------------------------------------------------------------


def _field_paths(cls: Any, prefix: str = "") -> list[str]:
    paths = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default):
            paths += _field_paths(type(default), f"{prefix}{f.name}.")
        else:
            paths.append(prefix + f.name)
    return paths


def _lookup(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"{path} missing from glia.yaml"
        node = node[part]
    return node


def test_init_writes_config_and_key(tmp_path: Path) -> None:
    r = run_glia("init", "--server-name", "example.org", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    config_path = tmp_path / "glia.yaml"
    text = config_path.read_text()
    tree = yaml.safe_load(text)
    for section in ("listeners", "database", "registration", "ratelimit", "password", "media",
                    "logging"):
        assert isinstance(tree.get(section), dict), section
    for path in _field_paths(Config):
        _lookup(tree, path)
    assert text.count("\n# ") + text.count("\n  # ") >= 20, "options should be commented"
    assert stat.S_IMODE(config_path.stat().st_mode) & 0o077 == 0, "glia.yaml holds a secret"

    config = load_config(config_path, environ={})
    assert config.server_name == "example.org"
    assert len(config.registration.shared_secret) >= 32
    assert config.registration.enabled is False

    key_path = config.resolve(config.signing_key_path)
    assert key_path == tmp_path / "data" / "signing.key"
    algorithm, version, seed = key_path.read_text().split()
    assert algorithm == "ed25519" and version.startswith("a_") and len(seed) == 43
    assert stat.S_IMODE(key_path.stat().st_mode) & 0o077 == 0

    # Two inits never share a secret or a key.
    other = tmp_path / "other"
    other.mkdir()
    assert run_glia("init", "--server-name", "example.org", cwd=other).returncode == 0
    assert load_config(other / "glia.yaml", environ={}).registration.shared_secret \
        != config.registration.shared_secret
    assert (other / "data" / "signing.key").read_text() != key_path.read_text()


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert run_glia("init", "--server-name", "example.org", cwd=tmp_path).returncode == 0
    before = (tmp_path / "glia.yaml").read_text()
    key_before = (tmp_path / "data" / "signing.key").read_text()
    r = run_glia("init", "--server-name", "other.example", cwd=tmp_path)
    assert r.returncode != 0
    assert "already exists" in r.stderr
    assert (tmp_path / "glia.yaml").read_text() == before
    assert (tmp_path / "data" / "signing.key").read_text() == key_before


def test_init_refuses_existing_key(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "signing.key").write_text("ed25519 a_keep keepme\n")
    r = run_glia("init", "--server-name", "example.org", cwd=tmp_path)
    assert r.returncode != 0 and "already exists" in r.stderr
    assert (tmp_path / "data" / "signing.key").read_text() == "ed25519 a_keep keepme\n"
    assert not (tmp_path / "glia.yaml").exists()


def test_init_with_config_path_and_data_dir(tmp_path: Path) -> None:
    r = run_glia("init", "--server-name", "chat.example.org", "--data-dir", "state",
             "-c", "conf/server.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    config = load_config(tmp_path / "conf" / "server.yaml", environ={})
    assert config.resolve("x") == tmp_path / "conf" / "state" / "x"
    assert (tmp_path / "conf" / "state" / "signing.key").exists()


def test_init_rejects_bad_server_name(tmp_path: Path) -> None:
    r = run_glia("init", "--server-name", "not a name", cwd=tmp_path)
    assert r.returncode != 0
    assert not (tmp_path / "glia.yaml").exists()


def test_init_then_serve(tmp_path: Path) -> None:
    """The README's path: init, serve on SQLite, /versions answers, SIGTERM stops cleanly."""
    assert run_glia("init", "--server-name", "example.org", cwd=tmp_path).returncode == 0
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "glia", "serve", "-c", "glia.yaml", "--port", str(port)],
        cwd=tmp_path, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        def answering() -> httpx.Response | None:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/_matrix/client/versions", timeout=1)
            except httpx.HTTPError:
                return None

        r = wait_until(lambda: answering() or None, what="the server to answer")
        assert r.status_code == 200 and "versions" in r.json()
        assert (tmp_path / "data" / "glia.db").exists()
        # Open registration is off by default.
        r = httpx.post(f"http://127.0.0.1:{port}/_matrix/client/v3/register",
                       json={"username": "x", "password": "y"})
        assert r.status_code == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def test_serve_reports_every_config_problem(tmp_path: Path) -> None:
    (tmp_path / "glia.yaml").write_text(
        "server_name: 'bad name'\nlisteners:\n  client:\n    port: 99999\nbogus: 1\n"
        "password:\n  bcrypt_rounds: many\n")
    r = run_glia("serve", "-c", "glia.yaml", cwd=tmp_path, timeout=30)
    assert r.returncode != 0
    for key in ("server_name", "listeners.client.port", "bogus", "password.bcrypt_rounds"):
        assert key in r.stderr, (key, r.stderr)
    assert "Traceback" not in r.stderr


# -- migrate ---------------------------------------------------------------------------------


def test_migrate_fresh_database(tmp_path: Path, new_empty_database_url: Callable[[], str]
                                ) -> None:
    env = clean_env(GLIA_DATABASE__URL=new_empty_database_url())
    r = run_glia("migrate", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    expected = [f"Applied {m.version:04d}_{m.name}" for m in available_migrations()]
    assert [line for line in r.stdout.splitlines() if line.startswith("Applied")] == expected
    again = run_glia("migrate", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "The database schema is up to date."


def test_migrate_running_servers_database(tmp_path: Path, glia: GliaProcess) -> None:
    env = clean_env(GLIA_DATABASE__URL=glia.env["GLIA_DATABASE__URL"])
    r = run_glia("migrate", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "The database schema is up to date."


# -- register-user ---------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path, glia: GliaProcess) -> Path:
    """A glia.yaml for the running test server: its secret and port."""
    path = tmp_path / "glia.yaml"
    path.write_text(yaml.safe_dump({
        "server_name": "localhost",
        "registration": {"shared_secret": SHARED_SECRET},
        "listeners": {"client": {"port": glia.port}},
    }))
    return path


def run_register(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glia", "register-user", *args], cwd=tmp_path, env=clean_env(),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def test_register_admin_with_config(tmp_path: Path, glia: GliaProcess, kit: Kit,
                                    config_file: Path) -> None:
    name = unique("cliadmin")
    r = run_register(tmp_path, "-u", name, "-p", PASSWORD, "-a", "-c", str(config_file),
                     glia.url)
    assert r.returncode == 0, r.stderr
    assert "Sending registration request..." in r.stdout
    assert "Success" in r.stdout
    user_id = f"@{name}:localhost"
    user = db_user(glia.env["GLIA_DATABASE__URL"], user_id)
    assert user is not None and user.admin is True and user.user_type is None
    assert kit.login(user_id).user_id == user_id


def test_register_non_admin_with_secret_and_type(tmp_path: Path, glia: GliaProcess) -> None:
    name = unique("clibot")
    r = run_register(tmp_path, "-u", name, "-p", PASSWORD, "--no-admin", "-t", "bot",
                     "-k", SHARED_SECRET, glia.url)
    assert r.returncode == 0, r.stderr
    user = db_user(glia.env["GLIA_DATABASE__URL"], f"@{name}:localhost")
    assert user is not None and user.admin is False and user.user_type == "bot"


def test_register_url_from_config(tmp_path: Path, glia: GliaProcess, config_file: Path,
                                  kit: Kit) -> None:
    name = unique("cliurl")
    password_file = tmp_path / "password.txt"
    password_file.write_text(f"  {PASSWORD}\n")
    r = run_register(tmp_path, "-u", name, "--password-file", str(password_file),
                     "--no-admin", "-c", str(config_file))
    assert r.returncode == 0, r.stderr
    kit.login(f"@{name}:localhost", PASSWORD)


def test_register_exists_ok(tmp_path: Path, glia: GliaProcess, config_file: Path) -> None:
    name = unique("cliexists")
    args = ["-u", name, "-p", PASSWORD, "--no-admin", "-c", str(config_file), glia.url]
    assert run_register(tmp_path, *args).returncode == 0
    again = run_register(tmp_path, *args)
    assert again.returncode == 1
    assert "User ID already taken" in again.stderr
    ok = run_register(tmp_path, *args, "--exists-ok")
    assert ok.returncode == 0, ok.stderr
    assert "User already exists" in ok.stdout
    # --exists-ok doesn't hide other errors.
    bad = run_register(tmp_path, "-u", unique("x"), "-p", PASSWORD, "--no-admin",
                       "-k", "wrong-secret", "--exists-ok", glia.url)
    assert bad.returncode == 1


def test_register_wrong_secret(tmp_path: Path, glia: GliaProcess) -> None:
    name = unique("cliwrong")
    r = run_register(tmp_path, "-u", name, "-p", PASSWORD, "--no-admin", "-k", "wrong-secret",
                     glia.url)
    assert r.returncode == 1
    assert "HMAC incorrect" in r.stderr
    assert db_user(glia.env["GLIA_DATABASE__URL"], f"@{name}:localhost") is None


def test_register_needs_a_secret(tmp_path: Path, glia: GliaProcess) -> None:
    r = run_register(tmp_path, "-u", unique("x"), "-p", PASSWORD, "--no-admin", glia.url)
    assert r.returncode != 0
    empty = tmp_path / "empty.yaml"
    empty.write_text("server_name: localhost\n")
    r = run_register(tmp_path, "-u", unique("x"), "-p", PASSWORD, "--no-admin",
                     "-c", str(empty), glia.url)
    assert r.returncode != 0 and "shared_secret" in r.stderr


def test_register_non_interactive_needs_user_and_password(tmp_path: Path,
                                                          glia: GliaProcess) -> None:
    r = run_register(tmp_path, "-p", PASSWORD, "--no-admin", "-k", SHARED_SECRET, glia.url)
    assert r.returncode != 0
    r = run_register(tmp_path, "-u", unique("x"), "--no-admin", "-k", SHARED_SECRET, glia.url)
    assert r.returncode != 0


def test_register_server_unreachable(tmp_path: Path) -> None:
    r = run_register(tmp_path, "-u", "x", "-p", PASSWORD, "--no-admin", "-k", SHARED_SECRET,
                     f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr


def test_register_a_and_no_admin_exclusive(tmp_path: Path) -> None:
    r = run_register(tmp_path, "-u", "x", "-p", "y", "-a", "--no-admin", "-k", "s")
    assert r.returncode == 2  # argparse usage error
