"""The benchmark: ``python -m bench.perf [--quick]`` (``bench.perf.run.main``).

In one run on one machine it measures the raw limits of the machine (``raw``), a naive
FastStream baseline (``naive``) and ``partnerlink serve`` on PostgreSQL and SQLite
(``service_run``), then prints a table, writes JSON and a PNG plot and appends a dated row
to ``docs/performance.md`` (``report``). How each figure is measured: ``docs/performance.md``.
"""
