"""The optional services' configuration: Synapse's key names, and what is refused."""

from __future__ import annotations

import pytest

from glia.config import ConfigError, load_config


def test_defaults_keep_previews_off_with_private_ranges_blocked() -> None:
    config = load_config(None, {})
    assert config.media.url_preview_enabled is False
    assert "127.0.0.0/8" in config.media.url_preview_ip_range_blacklist
    assert "10.0.0.0/8" in config.media.url_preview_ip_range_blacklist
    assert "::1/128" in config.media.url_preview_ip_range_blacklist
    assert config.voip.turn_uris == [] and config.user_directory.search_all_users is False


@pytest.mark.parametrize(("env", "problem"), [
    ({"GLIA_MEDIA__URL_PREVIEW_ENABLED": "true",
      "GLIA_MEDIA__URL_PREVIEW_IP_RANGE_BLACKLIST": ""},
     "media.url_preview_ip_range_blacklist: required"),
    ({"GLIA_MEDIA__URL_PREVIEW_IP_RANGE_WHITELIST": "10.0.0.0/33"},
     "media.url_preview_ip_range_whitelist: '10.0.0.0/33' is not an IP network"),
    ({"GLIA_VOIP__TURN_URIS": "http://turn.example.org"},
     "voip.turn_uris: 'http://turn.example.org' is not"),
    ({"GLIA_VOIP__TURN_USER_LIFETIME": "0"}, "voip.turn_user_lifetime: must be > 0"),
    ({"GLIA_EMAIL__SMTP_PORT": "70000"}, "email.smtp_port"),
])
def test_invalid_values_are_refused(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, env)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems
