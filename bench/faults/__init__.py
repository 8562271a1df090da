"""The fault harness: ``python -m bench.faults [T1 ... T8 | all] [--full]``.

Each scenario runs real processes (the service, Tansu, PostgreSQL, an SMTP sink), injects
its fault, then a verifier reads back the events and dead-letter topics, the database and
every email received, and checks the figures against their bounds (``report.Bound``).

T6 (``fuzz/``: the fuzzing world apart from its checks) and T7/T8 (``security/``: one module
per attack) run the real use cases in-process instead; the command path they need is wired
by hand in one place, ``wiring.py``, and the wire data of the parties they invent is built
in ``parties.py``.
"""
