"""``python -m tools.demo [--workdir DIR] [--stream FILE]``: the whole service on this machine, fed a
realistic sample stream. Needs the ``embedded`` extra; not part of the product (nor its wheel).

Starts the embedded Tansu broker, a file-saving ``aiosmtpd`` server and
``partnerlink serve`` (a separate process, SQLite, its read API on a free port), then plays
``samples/stream.jsonl`` (written by ``samples/make_stream.py``, which documents the step
kinds) step by step. Invitations are accepted or declined with the token taken from the
link in the email actually received. Under each step it prints that step's effects (events by
their ``causationid``, each email after its ``EmailSent``, dead letters), in the order they were
published, once the step is answered; then asks the read API the stream's questions, then a
summary.

Its parts: ``console`` (what it prints), ``player`` (publishes the steps and keeps their
effects), ``read_api`` (the questions after the stream), ``run`` (servers, play, summary and
the command line).
"""

from tools.demo.run import main, run_demo

__all__ = ["main", "run_demo"]
