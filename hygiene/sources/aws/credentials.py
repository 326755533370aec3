"""The AWS credentials, checked offline before any request (``hygiene scan``, ``hygiene config validate``).

Only what certainly cannot work is a problem: the credential chain may still find an instance role, SSO or a
container's credentials where nothing is configured, so an empty environment is not one. Flagged: an access key
id in the environment without its secret, a named profile (``profile`` in the config, else ``AWS_PROFILE``)
that neither the shared config nor the credentials file defines, a profile with an access key id but no secret,
and a profile with a ``role_arn`` but no source of credentials, or whose ``source_profile`` is not defined.
The files are read the way botocore reads them (``AWS_CONFIG_FILE``, ``AWS_SHARED_CREDENTIALS_FILE``); botocore
itself is not loaded. A problem never quotes a secret.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path

from hygiene.config import AwsConfig

PROFILE_KEY = "sources.aws.profile"
ROLE_SOURCES = ("source_profile", "credential_source", "web_identity_token_file")


def _read(path: Path) -> dict[str, dict[str, str]] | None:
    """The sections of an INI file; None when it cannot be read or parsed (then nothing is claimed about it)."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    return {name.strip(): dict(parser.items(name)) for name in parser.sections()}


def profiles(environ: Mapping[str, str]) -> dict[str, dict[str, str]] | None:
    """Every profile of the shared config and credentials files, merged as botocore merges them (the credentials
    file wins); None when a file that exists cannot be parsed."""
    home = Path(environ.get("HOME") or Path.home())
    config_file = Path(environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config").expanduser()
    credentials_file = Path(environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials").expanduser()
    merged: dict[str, dict[str, str]] = {}
    for path, from_config in ((config_file, True), (credentials_file, False)):
        if not path.is_file():
            continue
        sections = _read(path)
        if sections is None:
            return None
        for section, values in sections.items():
            if from_config:  # the config file names profiles "profile NAME", except "default"
                if section.startswith("profile "):
                    section = section.removeprefix("profile ").strip()
                elif section != "default":
                    continue  # sso-session, services: not profiles
            merged.setdefault(section, {}).update(values)
    return merged


def _profile_problems(name: str, key: str, known: dict[str, dict[str, str]]) -> list[str]:
    values = known.get(name)
    if values is None:
        listed = ", ".join(sorted(known)[:10]) or "none"
        where = "the AWS config or credentials file"
        return [f"{key}: AWS profile {name!r} is not defined in {where} (defined: {listed})"]
    if values.get("aws_access_key_id") and not values.get("aws_secret_access_key"):
        return [f"{key}: AWS profile {name!r} has aws_access_key_id but no aws_secret_access_key"]
    if values.get("role_arn"):
        if not any(values.get(source) for source in ROLE_SOURCES):
            return [
                f"{key}: AWS profile {name!r} has role_arn but none of {', '.join(ROLE_SOURCES)}: no credentials to "
                "assume the role with"
            ]
        source = values.get("source_profile")
        if source and source != name and source not in known:
            return [f"{key}: AWS profile {name!r} names source_profile {source!r}, which is not defined"]
    return []


def check_credentials(config: AwsConfig, environ: Mapping[str, str]) -> list[str]:
    """The problems with ``[sources.aws]``'s credentials, one ``key: problem`` line each."""
    name, key = config.profile, PROFILE_KEY
    if name is None:
        if environ.get("AWS_ACCESS_KEY_ID"):
            if not environ.get("AWS_SECRET_ACCESS_KEY"):
                return ["AWS_SECRET_ACCESS_KEY: not set although AWS_ACCESS_KEY_ID is (environment)"]
            return []
        name, key = environ.get("AWS_PROFILE") or None, "AWS_PROFILE (environment)"
    if name is None:
        return []  # the default chain: instance role, SSO, container credentials... known only by asking
    known = profiles(environ)
    return [] if known is None else _profile_problems(name, key, known)
