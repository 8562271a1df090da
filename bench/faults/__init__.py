"""The fault harness: ``python -m bench.faults [T1 ... T8 | all] [--full]``.

Each scenario runs real processes (the service, Tansu, PostgreSQL, an SMTP sink), injects
its fault, then a verifier reads back the events and dead-letter topics, the database and
every email received, and checks the figures against their bounds (``report.Bound``).
"""
