"""Adapters: SQLAlchemy persistence, SMTP, email rendering, region data."""
