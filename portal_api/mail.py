"""Outgoing mail over SMTP, and the messages the portal sends.

Links carry their token in the URL fragment (``#token=…``): a browser never
sends a fragment to a server, so tokens stay out of every access log. The page
at the link posts the token to the API. Tokens are never logged here either.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from portal_api.errors import ProblemError
from portal_api.settings import PortalSettings

log = logging.getLogger(__name__)


class Mailer:
    """Sends plain-text messages through the configured SMTP server."""

    def __init__(self, settings: PortalSettings) -> None:
        self._settings = settings

    def link(self, page: str, token: str) -> str:
        return f"{self._settings.public_base_url}/{page}#token={token}"

    async def send(self, to: str, subject: str, body: str) -> None:
        """Send one message; a failure is a 503 problem (the caller's transaction
        rolls back, so nothing half-done is left behind)."""
        message = EmailMessage()
        message["From"] = self._settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="metergate.local")
        message.set_content(body)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail to a user could not be sent: %s", type(exc).__name__)
            raise ProblemError(
                503, "mail-unavailable", "Mail unavailable", "the message could not be sent"
            ) from exc

    def _deliver(self, message: EmailMessage) -> None:
        s = self._settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password is not None:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
            smtp.send_message(message)


SIGNATURE = "\n\n--\nОсобистий кабінет побутового споживача (Metergate)\n"


def confirm_registration(link: str) -> tuple[str, str]:
    return (
        "Реєстрація в особистому кабінеті",
        "Вітаємо!\n\nВи зареєструвалися в особистому кабінеті побутового споживача.\n"
        f"Щоб продовжити реєстрацію і встановити пароль, перейдіть за посиланням:\n\n{link}\n\n"
        "Посилання одноразове і діє обмежений час. Якщо ви не реєструвалися, "
        "просто проігноруйте цей лист." + SIGNATURE,
    )


def already_registered(link: str) -> tuple[str, str]:
    return (
        "Спроба повторної реєстрації",
        "Хтось (можливо, ви) спробував зареєструватися з цією адресою, але обліковий запис "
        "уже існує. Якщо ви забули пароль, відновіть його за посиланням:\n\n"
        f"{link}" + SIGNATURE,
    )


def reset_password(link: str) -> tuple[str, str]:
    return (
        "Відновлення пароля",
        "Щоб встановити новий пароль, перейдіть за посиланням:\n\n"
        f"{link}\n\nПосилання одноразове і діє обмежений час. Якщо ви не просили змінити "
        "пароль, проігноруйте цей лист." + SIGNATURE,
    )


def confirm_email_change(link: str) -> tuple[str, str]:
    return (
        "Підтвердження нової адреси",
        "Щоб ця адреса стала логіном особистого кабінету, перейдіть за посиланням:\n\n"
        f"{link}" + SIGNATURE,
    )


def email_change_notice(new_email: str) -> tuple[str, str]:
    return (
        "Зміна адреси електронної пошти",
        f"Надійшов запит змінити логін особистого кабінету на {new_email}. Якщо це були "
        "не ви, змініть пароль і зверніться до компанії." + SIGNATURE,
    )


def appeal_answered(appeal_id: int) -> tuple[str, str]:
    return (
        f"Відповідь на звернення №{appeal_id}",
        f"На ваше звернення №{appeal_id} надійшла відповідь. Її видно в особистому "
        "кабінеті, у меню «Звернення»." + SIGNATURE,
    )


def staff_invitation(link: str, role: str) -> tuple[str, str]:
    return (
        "Доступ до Metergate",
        f"Для вас створено обліковий запис з роллю «{role}». Встановіть пароль за "
        f"посиланням:\n\n{link}" + SIGNATURE,
    )
