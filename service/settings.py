"""The one configuration of Partnerlink: environment variables prefixed ``PARTNERLINK_``.

Defaults are the embedded setup on one machine (SQLite file, broker and SMTP on
loopback). Secrets are ``SecretStr`` and never logged; errors never echo input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CHANNELS = ("public", "us-government", "germany", "china-21vianet", "partnership")
"""Where invitations are answered: one per cloud (RR-6) and ``partnership`` (IR-3)."""

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
"""Where users reach ``partnerlink serve``'s pages (``PARTNERLINK_PUBLIC_URL``)."""

INVITATION_PAGE_PATH = "/invitations"
"""The acceptance page's path under the public URL: ``/invitations/<channel>``."""


def page_link_bases(public_url: str) -> dict[str, str]:
    """channel → ``<public_url>/invitations/<channel>``, the acceptance page of each cloud."""
    root = public_url.rstrip("/")
    return {channel: f"{root}{INVITATION_PAGE_PATH}/{channel}" for channel in CHANNELS}


DEFAULT_LINK_BASES = page_link_bases(DEFAULT_PUBLIC_URL)
"""RR-6: where each cloud's customer accepts: by default the acceptance page that
``partnerlink serve`` hosts (``handlers/acceptance/``), which signs the user in against
that cloud's Entra authority and turns a click into ``AcceptResellerRelationship`` or
``DeclineInvitation``; the link is ``<base>?token=<token>``. ``partnership``: where an
indirect reseller accepts a partnership invitation (``AcceptPartnership``, IR-3)."""

ADMIN_PORTALS = {
    "public": "https://admin.microsoft.com/",
    "us-government": "https://portal.office365.us/",
    "germany": "https://portal.office.de/",
    "china-21vianet": "https://portal.partner.microsoftonline.cn/",
    "partnership": "https://partner.microsoft.com/dashboard/",
}
"""RR-6: each cloud's admin portal (public: Microsoft 365 admin center; germany and
us-government: Microsoft Office admin portal; china-21vianet: Office 365 operated by 21Vianet);
``partnership``: Partner Center. The page links on to it after an acceptance."""

DEFAULT_OIDC_ISSUERS = {
    "public": "https://login.microsoftonline.com/organizations/v2.0",
    "us-government": "https://login.microsoftonline.us/organizations/v2.0",
    "germany": "https://login.microsoftonline.de/organizations/v2.0",
    "china-21vianet": "https://login.chinacloudapi.cn/organizations/v2.0",
}
"""RR-6: each cloud's Microsoft Entra ID authority (multi-tenant ``organizations`` endpoint,
whose ID tokens name the user's tenant in ``iss``). Partners sign in on the public cloud's."""


class Settings(BaseSettings):
    """Every setting, read from ``PARTNERLINK_<NAME>`` (names below in upper case)."""

    model_config = SettingsConfigDict(
        env_prefix="PARTNERLINK_", env_file=None, hide_input_in_errors=True, extra="ignore"
    )

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_consumer_group: str = Field(
        default="partnerlink", description="group id prefix: each input topic's group is <prefix>.<topic>"
    )
    kafka_fetch_max_wait_ms: int = Field(default=20, ge=0, description="latency vs. fetch size (ms)")
    kafka_fetch_min_bytes: int = Field(
        default=65_536,
        ge=1,
        description="bytes a fetch waits for (up to kafka_fetch_max_wait_ms): fuller fetches, "
        "so a fetch's fixed cost (one transaction, one offset commit) is shared by more commands",
    )
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000)
    kafka_max_batch_records: int = Field(
        default=500,
        ge=1,
        description="records per fetch applied in one database transaction, then one offset commit",
    )
    kafka_group_instance_id: str | None = Field(
        default=None,
        description="static membership (one per replica; each subscriber appends its topic): "
        "a restarted replica takes its partitions back at once",
    )
    commands_topic: str = "partnerlink.commands"
    billing_topic: str = "billing.orders"
    events_topic: str = "partnerlink.events"
    dlq_topic: str = "partnerlink.dlq"

    # Database
    database_url: str = "sqlite+aiosqlite:///./partnerlink.db"
    database_auto_migrate: bool = True
    database_pool_size: int | None = Field(
        default=None,
        ge=1,
        description="PostgreSQL connections kept open (default: smtp_connections + 7, one per user)",
    )

    # SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="require STARTTLS (no silent downgrade)")
    smtp_tls: bool = Field(default=False, description="implicit TLS (SMTPS, usually port 465)")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_connections: int = Field(
        default=16,
        ge=1,
        description="pooled SMTP connections, one sender each: an email waits on four SMTP round trips "
        "and its outcome's write, so concurrent senders are what fills them",
    )
    mail_from: str = "Partnerlink <invitations@partnerlink.example>"
    email_transport: Literal["smtp", "kafka"] = Field(
        default="smtp",
        description="smtp: send emails over SMTP; kafka: hand each composed email to a notification "
        "service as EmailRequested on notifications_topic",
    )
    notifications_topic: str = "partnerlink.notifications"

    # Invitations and links (RR-6): each link base defaults to the acceptance page at public_url
    public_url: str = Field(
        default=DEFAULT_PUBLIC_URL,
        description="where users reach the acceptance page (http(s)://host[:port])",
    )
    link_base_public: str = Field(default="", description="unset: <public_url>/invitations/public")
    link_base_us_government: str = Field(
        default="", description="unset: <public_url>/invitations/us-government"
    )
    link_base_germany: str = Field(default="", description="unset: <public_url>/invitations/germany")
    link_base_china_21vianet: str = Field(
        default="", description="unset: <public_url>/invitations/china-21vianet"
    )
    link_base_partnership: str = Field(default="", description="unset: <public_url>/invitations/partnership")
    invitation_ttl_seconds: int = Field(default=14 * 86_400, ge=60, description="INV-2: link lifetime (s)")
    invitation_reminder_seconds: int = Field(
        default=3 * 86_400, ge=0, description="INV-4: one reminder this long before expiry (s); 0: none"
    )

    # The acceptance page's sign-in (OpenID Connect, authorization code with PKCE)
    oidc_issuer: str = Field(
        default=DEFAULT_OIDC_ISSUERS["public"],
        description="OpenID provider of the public cloud and of partners (Entra ID multi-tenant)",
    )
    oidc_issuer_us_government: str = DEFAULT_OIDC_ISSUERS["us-government"]
    oidc_issuer_germany: str = DEFAULT_OIDC_ISSUERS["germany"]
    oidc_issuer_china_21vianet: str = DEFAULT_OIDC_ISSUERS["china-21vianet"]
    oidc_client_id: str | None = Field(default=None, description="unset: the page cannot sign anyone in")
    oidc_client_secret: SecretStr | None = None
    page_secret: SecretStr | None = Field(
        default=None,
        description="key of the page's sealed cookies (32+ characters; unset: a new random key per "
        "process, so set it when several replicas serve the page)",
    )
    page_token_lookups_per_minute: int = Field(
        default=30, ge=1, description="invitation lookups a client address may make per minute"
    )
    page_sign_in_minutes: int = Field(
        default=15, ge=1, le=120, description="how long a page sign-in (and the link's cookie) lasts"
    )

    # RR-4 regions
    region_classification: str = Field(default="Continent_7", description="a country_converter column")
    region_overrides: dict[str, str] = Field(default_factory=dict, description='JSON: {"TR": "Europe"}')

    # Events and relay
    event_source: str = "urn:partnerlink"
    relay_poll_interval_seconds: float = Field(default=0.5, gt=0)
    relay_batch_size: int = Field(default=200, ge=1)
    relay_mode: Literal["auto", "inline", "process"] = Field(
        default="auto",
        description="where the outbox relay runs: process: a child process of the service "
        "(PostgreSQL only; woken by NOTIFY), so rendering and sending emails and publishing "
        "events use a second core; inline: in the service's event loop; auto: process on "
        "PostgreSQL, inline on SQLite",
    )
    email_retry_initial_seconds: float = Field(default=2.0, gt=0)
    email_retry_max_backoff_seconds: float = Field(default=300.0, gt=0)
    email_give_up_after_seconds: float = Field(default=86_400.0, gt=0)
    expiry_interval_seconds: float = Field(default=30.0, gt=0, description="INV-2 expiry sweep period (s)")
    expiry_batch_size: int = Field(
        default=100, ge=1, description="invitations expired (admin relationships checked) per transaction"
    )
    admin_relationship_warning_days: list[int] = Field(
        default_factory=lambda: [30, 7, 1],
        min_length=1,
        description="GD-7: days before an admin relationship ends when the partner is warned (JSON list)",
    )

    # Read side (HTTP)
    http_enabled: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port")

    # Start-up
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="start-up checks: each connection attempt gives up after this (s)"
    )

    # Templates, logging
    templates_dir: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = Field(
        default=None, description="JSON log lines; unset: JSON unless stderr is a terminal"
    )

    # The process
    gc_young_threshold: int = Field(
        default=20_000,
        ge=0,
        description="allocations (objects) between collections of the garbage collector's youngest "
        "generation, once start-up's objects are frozen (service.heap); 0: Python's default (700)",
    )

    @field_validator("admin_relationship_warning_days")
    @classmethod
    def _whole_days(cls, days: list[int]) -> list[int]:
        if any(day < 1 for day in days):
            raise ValueError("warning days are whole days, at least 1")
        return sorted(set(days), reverse=True)

    @model_validator(mode="after")
    def _default_link_bases(self) -> Settings:
        """An unset (empty) ``link_base_*`` is the acceptance page of its channel at ``public_url``."""
        page = page_link_bases(self.public_url)
        for channel, url in page.items():
            field = "link_base_" + channel.replace("-", "_")
            if not getattr(self, field):
                setattr(self, field, url)
        return self

    def pool_size(self) -> int:
        """``database_pool_size``, or one connection per concurrent user: the two subscribers,
        the event relay, the email claims (one per SMTP connection at most: a claim is held
        until its emails are finished), the email outcome writer, the NOTIFY listener, the
        expiry sweep, two for the read API."""
        return self.database_pool_size or self.smtp_connections + 7

    def relay_in_own_process(self) -> bool:
        """Whether ``relay_mode`` (``auto`` resolved by the database) runs the relay in a
        child process."""
        if self.relay_mode == "auto":
            return self.database_url.startswith("postgresql")
        return self.relay_mode == "process"

    def link_bases(self) -> dict[str, str]:
        """cloud → invitation link base (RR-6)."""
        return {
            "public": self.link_base_public,
            "us-government": self.link_base_us_government,
            "germany": self.link_base_germany,
            "china-21vianet": self.link_base_china_21vianet,
            "partnership": self.link_base_partnership,
        }

    def oidc_issuers(self) -> dict[str, str]:
        """channel → OpenID issuer URL the page signs users in against (RR-6); partners
        (``partnership``) on ``oidc_issuer``."""
        return {
            "public": self.oidc_issuer,
            "us-government": self.oidc_issuer_us_government,
            "germany": self.oidc_issuer_germany,
            "china-21vianet": self.oidc_issuer_china_21vianet,
            "partnership": self.oidc_issuer,
        }
