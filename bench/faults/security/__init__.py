"""T7 (token guessing and misuse) and T8 (actor checks), in-process on a real database.

Both drive the service's real command path without Kafka: raw CloudEvent bytes →
``service.inbound.read_command`` → ``service.bus.CommandBus.handle`` with the real use cases
(``service.usecases.USE_CASES``, wired by ``bench.faults.wiring``) and the real SQL unit of
work, on PostgreSQL (a throwaway cluster) or on an SQLite file in ``options.workdir``. What
each command did is read back from the outbox (``outbox_events``: every event carries the
command's id as ``causationid``), the way the relay would read it, and the domain tables are
compared before and after the attack.

Real invitations are made first (partners registered, ``RequestResellerRelationship`` and
``RequestPartnership`` sent) and their tokens taken from the staged invitation emails
(the ``invitation_url`` parameter in ``outbox_emails``), the link a recipient would follow.

Modules, one per part:

- ``lab``: the database, the command path and the outbox read back (``Lab``, ``Verdicts``)
- ``estate``: the parties and the set-up commands that make real invitations
- ``misuse`` (T7): real tokens used wrongly
- ``guessing`` (T7): guessed tokens, on the full and the lookup path
- ``t7``: the T7 scenario and its report
- ``actors`` (T8): the estate every command can act on
- ``refusals`` (T8): per command type, the actors to refuse
- ``t8``: the T8 scenario and its report
"""

from bench.faults.security.t7 import run_t7
from bench.faults.security.t8 import run_t8

__all__ = ["run_t7", "run_t8"]
