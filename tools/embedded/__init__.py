"""In-process stand-ins for external infrastructure (Kafka broker, SMTP mailbox)."""
