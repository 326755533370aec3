"""Deciding whether to notify, sending, and keeping undelivered notifications for the next run."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from hygiene.atomic import atomic_write
from hygiene.config import NotifyConfig
from hygiene.notify.change import Change
from hygiene.notify.channels import post_webhook, send_email

log = structlog.get_logger(__name__)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OUTBOX_MAX_AGE = timedelta(days=14)


def should_notify(config: NotifyConfig, change: Change, now: datetime, last_digest: datetime | None) -> str | None:
    """ "regression", "always" or "digest" when a notification is due, else None."""
    if config.on == "never":
        return None
    if config.on == "always":
        return "always"
    if change.regression:
        return "regression"
    if (
        config.digest != "off"
        and DAYS[now.weekday()] == config.digest
        and (last_digest is None or now - last_digest > timedelta(days=6))
    ):
        return "digest"
    return None


def _state_path(data_dir: Path, org: str) -> Path:
    return data_dir / "notify" / f"{org}.json"


def _outbox(data_dir: Path) -> Path:
    return data_dir / "notify" / "outbox"


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(payload, default=str).encode("utf-8"))


def _deliver(channel: dict[str, Any], change: Change, environ: dict[str, str], config: NotifyConfig) -> None:
    if channel["kind"] == "webhook":
        url = environ.get(channel["url_env"])
        if not url:
            raise RuntimeError(f"environment variable {channel['url_env']} (notify.webhooks.url_env) is not set")
        post_webhook(url, channel["format"], change)
        return
    email = config.email
    if email is None:
        raise RuntimeError("the email channel is no longer configured")
    send_email(
        email.smtp_host,
        email.smtp_port,
        email.sender,
        list(email.to),
        change,
        environ.get(email.username_env or ""),
        environ.get(email.password_env or ""),
        ca_bundle=email.ca_bundle,
    )


def _channels(config: NotifyConfig) -> list[dict[str, Any]]:
    channels: list[dict[str, Any]] = [
        {"kind": "webhook", "url_env": w.url_env, "format": w.format} for w in config.webhooks
    ]
    if config.email is not None:
        channels.append({"kind": "email"})
    return channels


def notify(
    config: NotifyConfig, org: str, change: Change, data_dir: Path, environ: dict[str, str], now: datetime | None = None
) -> list[str]:
    """Retry the outbox, then send this scan's notification if one is due. Never raises; returns what was sent."""
    now = now or datetime.now(UTC)
    sent: list[str] = []
    for pending in sorted(_outbox(data_dir).glob(f"{org}-*.json")):
        try:
            entry = json.loads(pending.read_text(encoding="utf-8"))
            queued = datetime.fromisoformat(entry["queued_at"])
            if now - queued > OUTBOX_MAX_AGE:
                log.warning("dropping an undelivered notification after 14 days", file=str(pending))
                pending.unlink()
                continue
            _deliver(entry["channel"], Change(**entry["change"]), environ, config)
            pending.unlink()
            sent.append(f"retried {entry['channel']['kind']}")
        except Exception as exc:  # keep it for next time
            log.warning("notification still undelivered", file=str(pending), error=f"{type(exc).__name__}: {exc}")
    state_path = _state_path(data_dir, org)
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    last_digest = datetime.fromisoformat(state["last_digest"]) if state.get("last_digest") else None
    reason = should_notify(config, change, now, last_digest)
    if reason is None:
        return sent
    for number, channel in enumerate(_channels(config)):
        try:
            _deliver(channel, change, environ, config)
            sent.append(f"{reason} {channel['kind']}")
        except Exception as exc:
            log.warning(
                "notification failed; will retry after the next scan",
                channel=channel["kind"],
                error=f"{type(exc).__name__}: {exc}",
            )
            _write_json(
                _outbox(data_dir) / f"{org}-{now.strftime('%Y%m%dT%H%M%S')}-{number}.json",
                {"queued_at": now.isoformat(), "channel": channel, "change": asdict(change)},
            )
    if reason == "digest":
        state["last_digest"] = now.isoformat()
        _write_json(state_path, state)
    return sent
