"""E-mail channel: one message over SMTP (stdlib :mod:`smtplib`)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

__all__ = ["build_message", "send_email"]


def build_message(subject: str, body: str, sender: str, to: str) -> EmailMessage:
    """A plain-text message with Date and Message-ID headers."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send_email(
    subject: str,
    body: str,
    to: str,
    *,
    host: str,
    sender: str,
    port: int = 25,
    username: str | None = None,
    password: str | None = None,
    starttls: bool = False,
    timeout: float = 10.0,
) -> str:
    """Send one e-mail; returns its Message-ID.

    Parameters
    ----------
    subject, body : str
        Subject line and plain-text body.
    to : str
        Recipient address.
    host, port : str, int
        SMTP server.
    sender : str
        From address.
    username, password : str, optional
        Log in when ``username`` is given (the password comes from the environment).
    starttls : bool
        Upgrade the connection with STARTTLS before logging in.
    timeout : float
        Seconds per socket operation.

    Raises
    ------
    smtplib.SMTPException, OSError
        When the server refuses or cannot be reached.
    """
    message = build_message(subject, body, sender, to)
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.ehlo()
        if starttls:
            smtp.starttls()
            smtp.ehlo()
        if username:
            if password is None:
                raise smtplib.SMTPAuthenticationError(530, b"no SMTP password in the environment")
            smtp.login(username, password)
        smtp.send_message(message)
    return str(message["Message-ID"])
