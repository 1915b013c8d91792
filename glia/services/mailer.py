"""Outgoing email over SMTP (aiosmtplib), configured by the ``email:`` section.

``force_tls`` connects with TLS from the start (SMTPS); otherwise STARTTLS is used when
the server offers it (``enable_tls``), and required with ``require_transport_security``.
A failure to send is ``502 M_UNKNOWN``: the mail server, not the request, is at fault.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from glia.config_services import EmailConfig
from glia.errors import MatrixError

__all__ = ["Mailer"]

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0


class Mailer:
    def __init__(self, config: EmailConfig) -> None:
        self._config = config

    @property
    def configured(self) -> bool:
        return self._config.configured

    @property
    def app_name(self) -> str:
        return self._config.app_name

    async def send(self, to: str, subject: str, text: str) -> None:
        config = self._config
        message = EmailMessage()
        message["From"] = config.notif_from.replace("%(app)s", config.app_name)
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid()
        message.set_content(text)
        start_tls: bool | None
        if config.force_tls:
            start_tls = False
        elif config.require_transport_security:
            start_tls = True
        else:
            start_tls = None if config.enable_tls else False
        try:
            await aiosmtplib.send(
                message, hostname=config.smtp_host, port=config.smtp_port,
                username=config.smtp_user or None, password=config.smtp_pass or None,
                use_tls=config.force_tls, start_tls=start_tls, timeout=SEND_TIMEOUT)
        except (aiosmtplib.SMTPException, OSError) as e:
            # The address is personal data: logged by domain only.
            logger.warning("could not send mail to a user at %s: %r", to.rsplit("@", 1)[-1], e)
            raise MatrixError(502, "M_UNKNOWN", "The email could not be sent") from e
