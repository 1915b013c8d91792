"""A local SMTP server (aiosmtpd) on loopback that keeps what it receives, for tests of
the mail Glia sends."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from tests.pg import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def env(self) -> dict[str, str]:
        """The Glia configuration that sends through this server."""
        return {"GLIA_EMAIL__SMTP_HOST": "127.0.0.1", "GLIA_EMAIL__SMTP_PORT": str(self.port),
                "GLIA_EMAIL__NOTIF_FROM": "Glia <noreply@glia.test>",
                "GLIA_EMAIL__APP_NAME": "GliaTest"}


def link_of(message: EmailMessage) -> tuple[str, dict[str, str]]:
    """The validation link of a mail: its path and query parameters."""
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    match = re.search(r"https?://\S+", text)
    assert match, text
    parts = urlsplit(match.group(0))
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
