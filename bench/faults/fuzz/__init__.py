"""T6: hypothesis fuzzing of every command and the billing ``Order``, and a stateful test
against a reference model of the relationship rules.

Each input is CloudEvent (or bare ``Order``) bytes built from a valid command whose fields
``bench.faults.fuzz.inputs.mutated`` made hostile. It goes the consumer's way in-process:
``read_command`` / ``read_order`` (``UnreadableMessage`` → dead-lettered), then
``CommandBus.handle`` (wired by ``bench.faults.wiring``) with the real use cases on the real
``SqlUnitOfWork`` (SQLite, or PostgreSQL for ``--database postgres``). Every input must have
exactly one outcome, and every email staged must parse with exactly the expected headers
and recipient, with the data's template syntax and HTML inert.

``RelationshipMachine`` issues RR-1/RR-3 requests, RR-5 acceptances, INV-1..3 declines and
clock moves, PR-4 removals and redeliveries, and compares each outcome (applied, rejected
and the reason, duplicate) with ``ReferenceModel``.

Modules: the world apart from its checks.

- ``inputs``: hostile values and mutated documents (hypothesis strategies)
- ``delivery``: one input delivered through a recording unit of work, and its one outcome
- ``email_checks``: one staged email parsed back and checked
- ``estate``: the parties commands are sent for
- ``world``: the service in-process, its seed data, what it was told
- ``inspection``: the checks of each delivery, counted in a ``Tally``
- ``fuzzed``, ``cases``, ``admin_cases``: one fuzzed command per case
- ``model``, ``stateful``: the reference model and the stateful test
- ``scenario``: the database, the run and its report
"""

from bench.faults.fuzz.scenario import run_t6

__all__ = ["run_t6"]
