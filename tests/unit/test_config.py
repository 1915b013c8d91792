"""Configuration: defaults, YAML, GLIA_* overrides, and validation that reports everything."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from glia.config import Config, ConfigError, load_config, render_config


def test_defaults_without_a_file() -> None:
    config = load_config(None, environ={})
    assert config == dataclasses.replace(Config(), base_dir=".")
    assert config.server_name == "localhost"
    assert config.listeners.client.address == "127.0.0.1"
    assert config.listeners.client.port == 8008
    assert config.listeners.admin.enabled is False
    assert config.database.url == "sqlite:glia.db"
    assert not config.is_postgres
    assert config.registration.enabled is False
    assert config.registration.shared_secret == ""
    assert config.ratelimit.enabled is True
    assert config.password.bcrypt_rounds == 12
    assert config.max_request_size == 1024 * 1024


def test_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text(yaml.safe_dump({
        "server_name": "example.org",
        "listeners": {"client": {"port": 9000}},
        "database": {"url": "postgresql://glia@db/glia", "pool_size": 3},
        "registration": {"enabled": True},
    }))
    config = load_config(path, environ={})
    assert config.server_name == "example.org"
    assert config.listeners.client.port == 9000
    assert config.listeners.client.address == "127.0.0.1"  # default kept beside an override
    assert config.is_postgres and config.database.pool_size == 3
    assert config.registration.enabled is True
    assert config.base_dir == str(tmp_path)


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text("")
    assert load_config(path, environ={}).server_name == "localhost"


def test_env_overrides_with_nesting_and_types(tmp_path: Path) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text(yaml.safe_dump({"server_name": "file.example",
                                    "listeners": {"client": {"port": 9000}}}))
    config = load_config(path, environ={
        "GLIA_SERVER_NAME": "env.example",
        "GLIA_LISTENERS__ADMIN__PORT": "8449",
        "GLIA_LISTENERS__ADMIN__ENABLED": "true",
        "GLIA_REGISTRATION__ENABLED": "yes",
        "GLIA_RATELIMIT__ENABLED": "0",
        "GLIA_RATELIMIT__LOGIN__PER_SECOND": "0.5",
        "GLIA_RATELIMIT__LOGIN__BURST": "7",
        "GLIA_DATABASE__URL": "postgresql://u:p@h:5433/d",
        "GLIA_MAX_REQUEST_SIZE": "2048",
        "GLIA_TEST_DB": "postgres",  # the test harness's own variables are ignored
        "OTHER_VARIABLE": "ignored",
    })
    assert config.server_name == "env.example"
    assert config.listeners.client.port == 9000  # from the file, untouched by env
    assert config.listeners.admin.port == 8449
    assert config.listeners.admin.enabled is True
    assert config.registration.enabled is True
    assert config.ratelimit.enabled is False
    assert config.ratelimit.login.per_second == 0.5
    assert config.ratelimit.login.burst == 7
    assert config.ratelimit.register.burst == 3  # sibling class keeps its default
    assert config.database.url == "postgresql://u:p@h:5433/d"
    assert config.max_request_size == 2048


def test_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLIA_SERVER_NAME", "from-os.example")
    assert load_config(None).server_name == "from-os.example"


def test_env_empty_string_clears_a_string() -> None:
    config = load_config(None, environ={"GLIA_REGISTRATION__SHARED_SECRET": ""})
    assert config.registration.shared_secret == ""


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text(yaml.safe_dump({
        "server_name": "not a server name",
        "listeners": {"client": {"port": 70000}, "admin": {"enabled": "maybe"}},
        "database": {"url": "mysql://nope", "pool_size": 0},
        "password": {"bcrypt_rounds": "many"},
        "ratelimit": {"login": {"per_second": 0}},
        "unknown_top": 1,
        "logging": {"level": "LOUD", "colour": True},
    }))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"GLIA_MEDIA__MAX_UPLOAD_SIZE": "lots"})
    problems = caught.value.problems
    text = "\n".join(problems)
    for key in ("server_name", "listeners.client.port", "listeners.admin.enabled",
                "database.url", "database.pool_size", "password.bcrypt_rounds",
                "ratelimit.login", "unknown_top", "logging.level", "logging.colour",
                "media.max_upload_size"):
        assert any(p.startswith(key + ":") for p in problems), (key, text)
    assert "unknown option" in text
    assert str(caught.value).startswith("invalid configuration:")


def test_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text("listeners:\n  client:\n    prot: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.problems == ["listeners.client.prot: unknown option"]
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ={"GLIA_DATABSE__URL": "x"})
    assert caught.value.problems == ["databse: unknown option"]


@pytest.mark.parametrize(("text", "fragment"), [
    ("- a list\n", "top level must be a mapping"),
    ("server_name: [unclosed\n", "not valid YAML"),
    ("listeners: 5\n", "listeners: expected a mapping"),
    ("server_name: {a: 1}\n", "server_name: expected a string"),
    ("max_request_size: true\n", "max_request_size: expected an integer"),
    ("registration:\n  enabled: 3\n", "registration.enabled: expected true or false"),
    ("max_request_size: 10\n", "max_request_size: must be at least 1024"),
])
def test_bad_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert fragment in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml", environ={})
    assert "cannot read" in str(caught.value)


def test_relative_paths_resolve_under_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text("data_dir: state\nsigning_key_path: keys/signing.key\n")
    config = load_config(path, environ={})
    assert config.resolve(config.signing_key_path) == tmp_path / "state" / "keys" / "signing.key"
    assert config.sqlite_path == tmp_path / "state" / "glia.db"
    assert config.resolve("/abs/file") == Path("/abs/file")
    config = load_config(path, environ={"GLIA_DATABASE__URL": "sqlite:/var/lib/glia.db"})
    assert config.sqlite_path == Path("/var/lib/glia.db")


def test_baseurl() -> None:
    assert load_config(None, environ={}).baseurl == "http://localhost:8008/"
    assert load_config(None, environ={"GLIA_PUBLIC_BASEURL": "https://m.example.org"}
                       ).baseurl == "https://m.example.org/"


def test_render_round_trips(tmp_path: Path) -> None:
    """What ``glia init`` writes loads back to the same configuration."""
    config = dataclasses.replace(
        Config(server_name="example.org"),
        registration=dataclasses.replace(Config().registration, shared_secret="s3cret: #x"),
    )
    path = tmp_path / "glia.yaml"
    path.write_text(render_config(config))
    loaded = load_config(path, environ={})
    assert dataclasses.replace(loaded, base_dir=".") == config
    text = path.read_text()
    assert "# The server name" in text
    assert "GLIA_<SECTION>__<KEY>" in text


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server_name = "x"  # type: ignore[misc]


def test_password_maximum_length_must_admit_the_minimum(tmp_path: Path) -> None:
    path = tmp_path / "glia.yaml"
    path.write_text(yaml.safe_dump({"password": {"minimum_length": 20,
                                                 "maximum_length": 10}}))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert any(p.startswith("password.maximum_length:") for p in caught.value.problems)
