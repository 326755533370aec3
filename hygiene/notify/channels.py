"""Delivery: webhook payloads in each service's incoming-webhook format, and email over SMTP with STARTTLS.

- Microsoft Teams (Workflows "post to a channel when a webhook request is received"): an Adaptive Card in an
  ``attachments`` message (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using);
- Slack incoming webhooks: ``{"text": …, "blocks": […]}`` (https://api.slack.com/messaging/webhooks);
- generic: the change as JSON.
Webhook URLs and SMTP credentials are secrets: they come from environment variables named in the config.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import asdict
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests

from hygiene.notify.change import Change
from hygiene.safetext import inert


def slack_text(text: str) -> str:
    """Text for Slack mrkdwn: ``&``, ``<`` and ``>`` escaped as Slack documents
    (https://api.slack.com/reference/surfaces/formatting#escaping), so that no ``<url|label>`` link, ``<!channel>``
    or ``<@user>`` mention can come from a name; control characters replaced."""
    return inert(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_payload(change: Change) -> dict[str, Any]:
    # the headline carries the organisation's name: a TextRun, which Adaptive Cards never read as Markdown
    # (https://adaptivecards.io/explorer/TextRun.html), so "[x](http://…)" stays text; the other lines are ours
    headline = {"type": "TextRun", "size": "Medium", "weight": "Bolder", "text": inert(change.headline())}
    body: list[dict[str, Any]] = [{"type": "RichTextBlock", "inlines": [headline]}]
    body += [{"type": "TextBlock", "text": inert(line), "wrap": True} for line in change.lines()[1:]]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


def slack_payload(change: Change) -> dict[str, Any]:
    text = "\n".join(slack_text(line) for line in change.lines())
    return {
        "text": slack_text(change.headline()),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def generic_payload(change: Change) -> dict[str, Any]:
    return {"event": "hygiene.scan", "regression": change.regression, **asdict(change)}


FORMATS = {"teams": teams_payload, "slack": slack_payload, "json": generic_payload}


class DeliveryError(RuntimeError):
    """A webhook could not be delivered; the message never contains the URL (which embeds a secret)."""


def post_webhook(url: str, fmt: str, change: Change, timeout: float = 15.0) -> None:
    # requests' own errors quote the URL (``… for url: https://…/secret``), and the caller logs the error:
    # report only the kind of failure and the HTTP status.
    try:
        response = requests.post(url, json=FORMATS[fmt](change), timeout=timeout)
    except requests.RequestException as exc:
        raise DeliveryError(f"webhook request failed ({type(exc).__name__})") from None
    if response.status_code >= 400:
        raise DeliveryError(f"webhook answered HTTP {response.status_code}")


def send_email(
    host: str,
    port: int,
    sender: str,
    recipients: list[str],
    change: Change,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 30.0,
    ca_bundle: Path | None = None,
) -> None:
    """Send over SMTP after STARTTLS, certificate and host name verified against ``ca_bundle`` or the system CAs."""
    message = EmailMessage()
    message["Subject"] = f"[hygiene] {inert(change.headline())}"  # no line break: no header of a name's making
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content("\n".join(inert(line) for line in change.lines()))
    context = (
        ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle is not None else ssl.create_default_context()
    )
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.starttls(context=context)
        if username and password:
            smtp.login(username, password)
        smtp.send_message(message)
