"""The Kafka client's security from the settings, for FastStream and aiokafka alike."""

from __future__ import annotations

import ssl

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from service.settings import Settings


def kafka_security(settings: Settings) -> BaseSecurity | None:
    """SSL / SASL from ``PARTNERLINK_KAFKA_*``; ``None`` for PLAINTEXT. aiokafka's keyword
    arguments: ``faststream.kafka.security.parse_security(kafka_security(settings))``."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    )
    use_ssl = protocol in ("SSL", "SASL_SSL")
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    return sasl[settings.kafka_sasl_mechanism](
        username=settings.kafka_sasl_username or "",
        password=password,
        ssl_context=context if use_ssl else None,
        use_ssl=use_ssl,
    )
