"""Registration files: every problem named by file and field; the namespace rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from glia.config import Config, ConfigError
from glia.services.appservices.registrations import AppServices, load_app_services

GOOD: dict[str, Any] = {
    "id": "irc", "url": "http://127.0.0.1:9000", "as_token": "a" * 20, "hs_token": "b" * 20,
    "sender_localpart": "ircbot", "rate_limited": False,
    "de.sorunome.msc2409.push_ephemeral": True,
    "namespaces": {"users": [{"exclusive": True, "regex": "@irc_.*:example.org"}],
                   "aliases": [{"exclusive": False, "regex": "#irc_.*:example.org"}]},
}


def _load(tmp_path: Path, *files: dict[str, Any] | str) -> AppServices:
    names = []
    for i, content in enumerate(files):
        path = tmp_path / f"r{i}.yaml"
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
        names.append(path.name)
    return load_app_services(Config(server_name="example.org", base_dir=str(tmp_path),
                                    app_service_config_files=names))


def test_a_good_file_and_its_namespaces(tmp_path: Path) -> None:
    services = _load(tmp_path, GOOD)
    irc = services.by_token("a" * 20)
    assert irc is not None and irc.id == "irc" and irc.sender == "@ircbot:example.org"
    assert irc.receive_ephemeral and not irc.rate_limited
    assert services.claiming_user("@irc_bob:example.org") is irc
    assert services.claiming_user("@bob:example.org") is None
    assert irc.owns_user("@ircbot:example.org")
    # A non-exclusive namespace is the service's, but not reserved from others.
    assert irc.owns_alias("#irc_x:example.org")
    assert services.claiming_alias("#irc_x:example.org") is None
    assert services.by_token("b" * 20) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"id": None}, "r0.yaml: id: required"),
    ({"as_token": 5}, "r0.yaml: as_token: must be a non-empty string"),
    ({"hs_token": "a" * 20}, "r0.yaml: hs_token: must differ from as_token"),
    ({"url": "ftp://x"}, "r0.yaml: url: must be an http(s) URL or null"),
    ({"sender_localpart": "Bad Name"}, "r0.yaml: sender_localpart: not a valid localpart"),
    ({"namespaces": {"users": [{"regex": "(", "exclusive": True}]}},
     "r0.yaml: namespaces.users[0].regex: not a valid regular expression"),
    ({"namespaces": {"users": [{"regex": "@x"}]}},
     "r0.yaml: namespaces.users[0].exclusive: required"),
    ({"namespaces": {"groups": []}}, "r0.yaml: namespaces.groups: unknown namespace"),
    ({"rate_limited": "yes"}, "r0.yaml: rate_limited: must be true or false"),
    ({"protocols": "irc"}, "r0.yaml: protocols: must be a list of strings"),
])
def test_each_problem_names_file_and_field(tmp_path: Path, change: dict[str, Any],
                                           message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, {**GOOD, **change})
    assert any(p.startswith(message) for p in caught.value.problems), caught.value.problems


def test_unreadable_and_duplicate_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "id: [unclosed", "- a list", GOOD, GOOD)
    problems = caught.value.problems
    assert any(p.startswith("r0.yaml: not valid YAML") for p in problems)
    assert "r1.yaml: the top level must be a mapping" in problems
    assert any(p.startswith("r3.yaml: id: the same as in r2.yaml") for p in problems)
    assert any(p.startswith("r3.yaml: as_token: the same as in r2.yaml") for p in problems)


def test_cli_writes_a_registration_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "telegram.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "glia", "appservice-registration", "--id", "telegram",
         "--url", "http://127.0.0.1:29317", "--server-name", "example.org",
         "--user-prefix", "telegram_", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o077 == 0  # the tokens are secrets
    services = _load(tmp_path, out.read_text())
    telegram = services.all[0]
    assert telegram.claims_user("@telegram_123:example.org")
    assert not telegram.claims_user("@telegram_123:example.com")
    assert len(telegram.as_token) >= 40 and telegram.as_token != telegram.hs_token
    again = subprocess.run(
        [sys.executable, "-m", "glia", "appservice-registration", "--id", "telegram",
         "--server-name", "example.org", "-o", str(out)], capture_output=True, text=True)
    assert again.returncode == 1 and "already exists" in again.stderr
