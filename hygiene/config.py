"""Per-organisation configuration: one TOML file, validated; every error names the file and the key.

Secrets never live in the file: it names an environment variable or a key file.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
from pydantic import BaseModel, Field, StringConstraints, ValidationError, model_validator

from hygiene.errors import InputError, format_validation_errors
from hygiene.policy import available_profiles, deep_merge, is_profile_path
from hygiene.schedule import ScheduleError, cron_trigger
from hygiene.strict import StrictModel as _Strict
from hygiene.taxonomy import DEFAULT_REPORT_FORMATS, REPORT_FORMATS
from hygiene.yamlio import read_text_limited

log = structlog.get_logger(__name__)

MAX_CONFIG_BYTES = 1024 * 1024

Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s/]+(/[^\s]*)?$")]


#: a tag groups organisations in the portfolio ("dental", "london"): lower-case letters, digits and '-'
TAG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_TAGS = 20


class OrganisationConfig(_Strict):
    id: Slug = Field(description="letters, digits and '-'; the history key")
    name: str = Field(min_length=1)
    #: groups in the portfolio (shown, filtered and summarised per tag)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)

    @model_validator(mode="after")
    def _valid_tags(self) -> OrganisationConfig:
        bad = [t for t in self.tags if not TAG.fullmatch(t)]
        if bad:
            raise ValueError(f"tags: {bad[0]!r} is not a tag (lower-case letters, digits and '-', up to 32 characters)")
        twice = sorted({t for t in self.tags if self.tags.count(t) > 1})
        if twice:
            raise ValueError(f"tags: {', '.join(twice)} listed twice")
        return self


class PolicyConfig(_Strict):
    profile: str = "sme-baseline"
    exceptions: Path | None = None


class ChecksConfig(_Strict):
    #: extra folders of check modules, relative to the config file
    extra_dirs: list[Path] = Field(default_factory=list)


def _default_formats() -> list[str]:
    return list(DEFAULT_REPORT_FORMATS)


class ReportsConfig(_Strict):
    """What a scan writes when ``--format`` is not given (the agent's scans always use this)."""

    formats: list[str] = Field(default_factory=_default_formats, min_length=1)

    @model_validator(mode="after")
    def _known(self) -> ReportsConfig:
        unknown = [f for f in self.formats if f not in REPORT_FORMATS]
        if unknown:
            raise ValueError(
                f"formats: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(REPORT_FORMATS)}"
            )
        return self


class _EntraApp(_Strict):
    """An Entra app registration signing in with a secret (named by its environment variable) or a certificate."""

    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    certificate_file: Path | None = None
    authority_host: HttpsUrl = "https://login.microsoftonline.com"
    ca_bundle: Path | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> _EntraApp:
        if (self.client_secret_env is None) == (self.certificate_file is None):
            raise ValueError("give exactly one of client_secret_env (an env var name) or certificate_file")
        return self


PUBLIC_GRAPH = "https://graph.microsoft.com"
PUBLIC_DEFENDER = "https://api.security.microsoft.com"

#: a user principal name as Entra ID accepts it: one ``@``, a non-empty local part and a dotted domain
Upn = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=113)]


class M365Config(_EntraApp):
    graph_url: HttpsUrl = PUBLIC_GRAPH
    #: the Microsoft Defender for Endpoint API (machines, vulnerabilities); a regional host such as
    #: https://eu.api.security.microsoft.com also works. Its token is asked for ``defender_resource/.default``.
    #: Unset: https://api.security.microsoft.com when graph_url is Microsoft Graph's public host, else not read
    #: (a sandbox, a sovereign cloud or a proxy names its Defender host itself: tokens go to configured hosts only)
    defender_url: HttpsUrl | None = None
    #: the application ID URI of the Defender for Endpoint API (WindowsDefenderATP), the token's audience
    defender_resource: HttpsUrl = "https://api.securitycenter.microsoft.com"
    #: the organisation's break-glass (emergency access) accounts, by user principal name: checked by
    #: ``m365.admins.break_glass`` and, by this declaration, left out of the stale-account and MFA findings
    break_glass: list[Upn] = Field(default_factory=list, max_length=10)

    @property
    def defender_endpoint(self) -> str | None:
        """The Defender for Endpoint API's base URL, or None when it is not to be read (see ``defender_url``)."""
        if self.defender_url is not None:
            return self.defender_url
        return PUBLIC_DEFENDER if self.graph_url.rstrip("/") == PUBLIC_GRAPH else None

    @model_validator(mode="after")
    def _distinct_break_glass(self) -> M365Config:
        seen: set[str] = set()
        for upn in self.break_glass:
            if upn.casefold() in seen:
                raise ValueError(f"break_glass: {upn!r} is listed twice")
            seen.add(upn.casefold())
        return self


class GoogleConfig(_Strict):
    #: JSON key of a service account with domain-wide delegation
    service_account_file: Path
    #: the admin user the service account acts as
    delegated_admin: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    customer_id: str = Field("my_customer", pattern=r"^(my_customer|C[0-9a-z]+)$")
    #: one base URL for every Google API called (sandbox, proxies)
    api_endpoint: HttpsUrl | None = None
    #: extra trusted CA for api_endpoint and the token endpoint (TLS-inspecting proxies, the sandbox)
    ca_bundle: Path | None = None


AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")]


class AwsConfig(_Strict):
    #: a named profile; else the default credential chain
    profile: str | None = None
    #: assume this read-only role first
    role_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")
    #: also scan every active member account of the organisation through this role name
    organization_role: str | None = Field(None, pattern=r"^[\w+=,.@/-]{1,64}$")
    #: regions for regional services; default: the profile's region
    regions: list[AwsRegion] = Field(default_factory=list)
    #: one endpoint for every service (sandbox, proxies)
    endpoint_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")] | None = None
    #: concurrent account/region scans
    max_workers: int = Field(8, ge=1, le=64)


SubscriptionId = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
]


class AzureConfig(_EntraApp):
    """Azure subscriptions through Resource Graph: the Entra app registration (may be the one of [sources.m365])
    with the built-in Reader role on the subscriptions or a management group."""

    #: default: every subscription the app can read
    subscriptions: list[SubscriptionId] = Field(default_factory=list)
    #: Azure Resource Manager and Resource Graph
    management_url: HttpsUrl = "https://management.azure.com"

    @model_validator(mode="after")
    def _distinct(self) -> AzureConfig:
        if len({s.lower() for s in self.subscriptions}) != len(self.subscriptions):
            raise ValueError("subscriptions: a subscription is listed twice")
        return self


class SourcesConfig(_Strict):
    m365: M365Config | None = None
    google: GoogleConfig | None = None
    aws: AwsConfig | None = None
    azure: AzureConfig | None = None

    def section(self, platform: str) -> BaseModel | None:
        """The ``[sources.<platform>]`` section, or None when the platform is not configured."""
        if platform not in type(self).model_fields:
            raise KeyError(f"no config section for platform {platform!r}")
        section = getattr(self, platform)
        assert section is None or isinstance(section, BaseModel)
        return section


#: a DNS name as a mail domain is written: labels of letters, digits and '-', at least two, no trailing dot
DomainName = Annotated[
    str,
    StringConstraints(
        max_length=253,
        pattern=r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
    ),
]
IpAddress = Annotated[str, StringConstraints(pattern=r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$")]


class DnsConfig(_Strict):
    """``[dns]``: the email-authentication checks (SPF, DMARC, DKIM) read the DNS records of every verified domain
    the identity platforms hold, and of ``domains``. Present (even empty): they run; absent: they do not."""

    #: resolvers to ask (IP addresses); empty: the system resolver (/etc/resolv.conf)
    nameservers: list[IpAddress] = Field(default_factory=list, max_length=8)
    port: int = Field(53, ge=1, le=65535)
    #: seconds to wait for one question's answer, across retries and nameservers
    timeout: float = Field(5.0, gt=0, le=60)
    #: more domains to check than the identity platforms list (e.g. a sending-only domain)
    domains: list[DomainName] = Field(default_factory=list, max_length=500)


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class WebhookConfig(_Strict):
    #: name of the env var holding the webhook URL (it embeds a secret)
    url_env: EnvName
    format: Literal["teams", "slack", "json"] = "json"


class EmailConfig(_Strict):
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(587, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    #: PEM CA bundle to verify the SMTP server's STARTTLS certificate with, instead of the system store
    ca_bundle: Path | None = None


class NotifyConfig(_Strict):
    """After each agent scan: notify on regression (default), always or never, plus a weekly digest."""

    on: Literal["regression", "always", "never"] = "regression"
    digest: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "off"] = "mon"
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    email: EmailConfig | None = None


class ScheduleConfig(_Strict):
    """When the agent scans this organisation: standard crontab (Sunday = 0 or 7) in ``timezone``."""

    cron: str = "0 2 * * mon"
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _valid(self) -> ScheduleConfig:
        try:
            cron_trigger(self.cron, self.timezone)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return self


class Config(_Strict):
    organisation: OrganisationConfig
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    schedule: ScheduleConfig | None = None
    notify: NotifyConfig | None = None
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    #: email authentication: where DNS is read (the ``email`` platform); None: not checked
    dns: DnsConfig | None = None
    #: the file this was read from; relative paths inside it are resolved against its folder
    path: Path | None = Field(None, exclude=True)
    #: problems that do not stop a scan (a key file other users can read), one line each, for ``config validate``
    warnings: list[str] = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _some_source(self) -> Config:
        if not any(getattr(self.sources, name) for name in SourcesConfig.model_fields):
            raise ValueError("sources: configure at least one of " + ", ".join(SourcesConfig.model_fields))
        return self

    def section(self, platform: str) -> BaseModel | None:
        """The config section of ``platform``, or None when it is not configured: ``[sources.<platform>]``, and
        ``[dns]`` for the email platform (it reads what the identity platforms hold, so it has no section there)."""
        if platform == "email":
            return self.dns
        return self.sources.section(platform)

    def platforms(self) -> list[str]:
        configured = [name for name in SourcesConfig.model_fields if getattr(self.sources, name) is not None]
        return [*configured, "email"] if self.dns is not None else configured


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None:
        return None
    with contextlib.suppress(RuntimeError):  # ~user of an unknown user: left as it is, "file ... not found" names it
        value = value.expanduser()
    return value if value.is_absolute() else (base / value)


def key_file_warning(path: Path, key: str) -> str | None:
    """A one-line warning when a file holding a secret (a private key) can be read by every user, else None."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not mode & (stat.S_IROTH | stat.S_IWOTH):
        return None
    log.warning("key file is readable by every user on this machine; chmod 600 it", file=str(path), what=key)
    return (
        f"{key}: key file {path} is readable by every user on this machine "
        f"(mode {stat.S_IMODE(mode):04o}); chmod 600 it"
    )


def _check_profile(path: Path, base: Path, profile: str) -> None:
    """``policy.profile`` names a built-in profile or an existing YAML file (checked here to name the config)."""
    if is_profile_path(profile):
        file = Path(profile) if Path(profile).is_absolute() else base / profile  # as hygiene.policy resolves it
        if not file.is_file():
            raise InputError(path, f"policy.profile: file {file} not found")
    elif profile not in available_profiles():
        raise InputError(
            path,
            f"policy.profile: unknown profile {profile!r}; built-in profiles: {', '.join(available_profiles())} "
            "(or give a path to a YAML file)",
        )


def _resolve_app_files(path: Path, base: Path, section: str, app: _EntraApp, warnings: list[str]) -> None:
    """Resolve an app registration's files against the config's folder; each must exist; warn on a readable key."""
    app.certificate_file = _resolve(base, app.certificate_file)
    app.ca_bundle = _resolve(base, app.ca_bundle)
    for key, file in (("certificate_file", app.certificate_file), ("ca_bundle", app.ca_bundle)):
        if file is not None and not file.is_file():
            raise InputError(path, f"{section}.{key}: file {file} not found")
    if app.certificate_file is not None:
        warnings.append(key_file_warning(app.certificate_file, f"{section}.certificate_file") or "")


#: an ``include`` names a file beside the config (no folder: nothing outside the config's folder is reachable)
INCLUDE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,122}\.toml")
#: how deep included files may include others
MAX_INCLUDE_DEPTH = 4


def organisation_config_files(config_dir: Path) -> list[Path]:
    """The organisation configs of a fleet folder: every ``*.toml`` but folders, sorted (a FIFO or a device is named
    as a bad config by :func:`load_config`), except those whose name starts
    with ``_`` (shared defaults, such as ``_msp.toml``, that organisation configs ``include``)."""
    return sorted(p for p in config_dir.glob("*.toml") if not p.is_dir() and not p.name.startswith("_"))


def _read_toml(path: Path) -> dict[str, Any]:
    text = read_text_limited(path, MAX_CONFIG_BYTES, "config")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"invalid TOML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(path, "invalid TOML: nested too deeply") from None


def _has_key(raw: dict[str, Any], loc: tuple[object, ...]) -> bool:
    node: Any = raw
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _with_includes(
    path: Path, raw: dict[str, Any], chain: tuple[Path, ...], sources: list[tuple[Path, dict[str, Any]]]
) -> dict[str, Any]:
    """``raw`` on top of the files its ``include`` names (in order, each merged over the one before), recursively;
    every file read is appended to ``sources`` (to name the file a bad key came from)."""
    include = raw.pop("include", None)
    if include is None:
        return raw
    names = [include] if isinstance(include, str) else include
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InputError(path, "include: a file name, or a list of file names, beside this config")
    if len(chain) > MAX_INCLUDE_DEPTH:
        raise InputError(path, f"include: included files nest more than {MAX_INCLUDE_DEPTH} deep")
    merged: dict[str, Any] = {}
    for name in names:
        if not INCLUDE_NAME.fullmatch(name):
            raise InputError(
                path,
                f"include: {name!r} is not a file name beside this config (letters, digits, '_', '.' and '-', "
                "ending in .toml; no folder)",
            )
        target = path.parent / name
        if target.resolve() in chain:
            loop = " -> ".join([*(p.name for p in chain), name])
            raise InputError(path, f"include: {name} is included in a loop ({loop})")
        if not target.is_file():
            raise InputError(path, f"include: file {target} not found")
        included = _with_includes(target, _read_toml(target), (*chain, target.resolve()), sources)
        if "organisation" in included:
            raise InputError(
                target, "organisation: a shared file cannot name an organisation (each organisation's own file does)"
            )
        sources.append((target, included))
        merged = deep_merge(merged, included)
    return deep_merge(merged, raw)


def _validated(path: Path) -> Config:
    """The config file's table with the files it includes merged under it, validated; an error names the
    file the bad key is in."""
    sources: list[tuple[Path, dict[str, Any]]] = []
    own = _read_toml(path)
    raw = _with_includes(path, dict(own), (path.resolve(),), sources)
    for file, table in [(path, own), *sources]:
        internal = sorted(key for key in ("path", "warnings") if key in table)
        if internal:
            raise InputError(file, f"{internal[0]}: unknown key (check the spelling; see docs/configuration.md)")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        for file, table in sources:  # a bad key only an included file has: that file is named
            if all(not _has_key(own, e["loc"]) and _has_key(table, e["loc"]) for e in errors):
                raise InputError(file, format_validation_errors(errors) + f" (included by {path.name})") from None
        raise InputError(path, format_validation_errors(errors)) from None


def load_config(path: Path) -> Config:
    """One organisation's config, with the shared files it includes (``include = "_msp.toml"``: the
    credential a fleet shares), validated; relative paths are resolved against the config's folder."""
    config = _validated(path)
    base = path.resolve().parent
    config.path = path.resolve()
    config.policy.exceptions = _resolve(base, config.policy.exceptions)
    config.checks.extra_dirs = [p for p in (_resolve(base, d) for d in config.checks.extra_dirs) if p]
    for name, app in (("m365", config.sources.m365), ("azure", config.sources.azure)):
        if app is not None:
            _resolve_app_files(path, base, f"sources.{name}", app, config.warnings)
    google = config.sources.google
    if google is not None:
        google.service_account_file = _resolve(base, google.service_account_file) or google.service_account_file
        google.ca_bundle = _resolve(base, google.ca_bundle)
        for key, file in (("service_account_file", google.service_account_file), ("ca_bundle", google.ca_bundle)):
            if file is not None and not file.is_file():
                raise InputError(path, f"sources.google.{key}: file {file} not found")
        warning = key_file_warning(google.service_account_file, "sources.google.service_account_file")
        config.warnings.append(warning or "")
    email = config.notify.email if config.notify is not None else None
    if email is not None:
        email.ca_bundle = _resolve(base, email.ca_bundle)
        if email.ca_bundle is not None and not email.ca_bundle.is_file():
            raise InputError(path, f"notify.email.ca_bundle: file {email.ca_bundle} not found")
    for extra in config.checks.extra_dirs:
        if not extra.is_dir():
            raise InputError(path, f"checks.extra_dirs: folder {extra} not found")
    if config.policy.exceptions is not None and not config.policy.exceptions.is_file():
        raise InputError(path, f"policy.exceptions: file {config.policy.exceptions} not found")
    _check_profile(path, base, config.policy.profile)
    config.warnings = [w for w in config.warnings if w]
    return config
