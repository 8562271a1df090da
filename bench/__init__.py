"""Partnerlink's measuring tools: the fault harness (``bench.faults``) and the benchmark (``bench.perf``).

Both run the service as a separate process against real servers started on this machine
(``bench.infra``): the Tansu broker, PostgreSQL, an SMTP sink and the service itself.
"""
