"""The one configuration of Partnerlink: environment variables prefixed ``PARTNERLINK_``.

Defaults are the embedded setup on one machine (SQLite file, broker and SMTP on
loopback). Secrets are ``SecretStr`` and never logged; errors never echo input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LINK_BASES = {
    "public": "https://admin.microsoft.com/Adminportal/Home/PartnerInvitation",
    "us-government": "https://portal.office365.us/Adminportal/Home/PartnerInvitation",
    "germany": "https://portal.office.de/Adminportal/Home/PartnerInvitation",
    "china-21vianet": "https://portal.partner.microsoftonline.cn/Adminportal/Home/PartnerInvitation",
    "partnership": "https://partner.microsoft.com/dashboard/account/v3/partnerinvitation",
}
"""RR-6: where each cloud's customer accepts (public: Microsoft 365 admin center; germany and
us-government: Microsoft Office admin portal). Point them at the page that turns a click
into ``AcceptResellerRelationship``; the link is ``<base>?token=<token>``. ``partnership``: where an
indirect reseller accepts a partnership invitation (``AcceptPartnership``, IR-3); china-21vianet:
the Office 365 authorization page of the partner's offer (PR-5)."""


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
    smtp_connections: int = Field(default=4, ge=1, description="pooled SMTP connections, one sender each")
    mail_from: str = "Partnerlink <invitations@partnerlink.example>"

    # Invitations and links (RR-6)
    link_base_public: str = DEFAULT_LINK_BASES["public"]
    link_base_us_government: str = DEFAULT_LINK_BASES["us-government"]
    link_base_germany: str = DEFAULT_LINK_BASES["germany"]
    link_base_china_21vianet: str = DEFAULT_LINK_BASES["china-21vianet"]
    link_base_partnership: str = DEFAULT_LINK_BASES["partnership"]
    invitation_ttl_seconds: int = Field(default=14 * 86_400, ge=60, description="INV-2: link lifetime (s)")

    # RR-4 regions
    region_classification: str = Field(default="Continent_7", description="a country_converter column")
    region_overrides: dict[str, str] = Field(default_factory=dict, description='JSON: {"TR": "Europe"}')

    # Events and relay
    event_source: str = "urn:partnerlink"
    relay_poll_interval_seconds: float = Field(default=0.5, gt=0)
    relay_batch_size: int = Field(default=200, ge=1)
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

    @field_validator("admin_relationship_warning_days")
    @classmethod
    def _whole_days(cls, days: list[int]) -> list[int]:
        if any(day < 1 for day in days):
            raise ValueError("warning days are whole days, at least 1")
        return sorted(set(days), reverse=True)

    def pool_size(self) -> int:
        """``database_pool_size``, or one connection per concurrent user: the two subscribers,
        the event relay, each SMTP connection's email claim, the email outcome writer, the
        expiry sweep, two for the read API."""
        return self.database_pool_size or self.smtp_connections + 7

    def link_bases(self) -> dict[str, str]:
        """cloud → invitation link base (RR-6)."""
        return {
            "public": self.link_base_public,
            "us-government": self.link_base_us_government,
            "germany": self.link_base_germany,
            "china-21vianet": self.link_base_china_21vianet,
            "partnership": self.link_base_partnership,
        }
