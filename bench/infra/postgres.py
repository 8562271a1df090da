"""Throwaway PostgreSQL server for tests, started from the Debian server binaries.

``running_postgres()`` yields an SQLAlchemy URL such as
``postgresql+asyncpg://postgres@127.0.0.1:PORT/partnerlink``. When the environment
variable ``PARTNERLINK_TEST_DATABASE_URL`` is set, that URL is yielded instead and
nothing is started. As root, the binaries run as the ``postgres`` user through
``runuser`` (``pg_ctl`` refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "STATEMENT_STATS_OPTIONS",
    "PostgresCluster",
    "PostgresUnavailable",
    "find_postgres_bindir",
    "running_postgres",
]

ENV_VAR = "PARTNERLINK_TEST_DATABASE_URL"
DATABASE = "partnerlink"
_SUPERUSER = "postgres"
_RUN_AS = "postgres"
STATEMENT_STATS_OPTIONS = (
    "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all "
    "-c pg_stat_statements.track_utility=on -c pg_stat_statements.max=10000"
)
"""Server options that load ``pg_stat_statements`` (shipped in Debian's ``postgresql-15``,
``/usr/lib/postgresql/15/lib``) and count every statement, nested and utility ones
(``BEGIN``, ``COMMIT``, ``SAVEPOINT``, ``RELEASE``) included; the extension itself must
still be created in one database (``CREATE EXTENSION pg_stat_statements``)."""


class PostgresUnavailable(Exception):
    """No usable PostgreSQL server binaries (or the ``postgres`` OS user) were found."""


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_postgres_bindir() -> Path:
    """Directory holding ``initdb`` and ``pg_ctl`` (newest ``/usr/lib/postgresql/*/bin``).

    Falls back to ``pg_config --bindir``; raises :class:`PostgresUnavailable`.
    """
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run(
                [pg_config, "--bindir"], check=True, capture_output=True, text=True
            ).stdout.strip()
            if out and (Path(out) / "initdb").is_file() and (Path(out) / "pg_ctl").is_file():
                return Path(out)
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
        "or via `pg_config --bindir`; install the `postgresql` package or set "
        f"{ENV_VAR} to an existing database URL"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(argv: list[str], *, as_user: str | None, what: str) -> None:
    """Run a command (through ``runuser -u USER --`` when ``as_user``); raise on failure."""
    full = ["runuser", "-u", as_user, "--", *argv] if as_user else argv
    result = subprocess.run(full, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"{what} failed with exit code {result.returncode}: {' '.join(full)}\n"
            f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
        )


class PostgresCluster:
    """A throwaway cluster in a temp directory that can be stopped and started again on the
    same port and data (the harness's database outage). ``start()`` runs ``initdb`` the
    first time; ``stop(mode)`` is ``pg_ctl -m fast|immediate stop``; ``destroy()`` removes it.

    Trust auth, superuser ``postgres``, UTF8, fsync off; database ``partnerlink``. Raises
    :class:`PostgresUnavailable` when binaries are missing or a step fails.
    ``track_statements`` adds :data:`STATEMENT_STATS_OPTIONS` (the benchmark's statement count).
    """

    def __init__(self, extra_options: str = "", *, track_statements: bool = False) -> None:
        self._bindir = find_postgres_bindir()
        self._as_user, self._uid, self._gid = _server_user()
        self._root = Path(tempfile.mkdtemp(prefix="partnerlink-pg-"))
        self.datadir = self._root / "data"
        self.logfile = self._root / "server.log"
        self.port = _free_port()
        self._extra = f"{STATEMENT_STATS_OPTIONS} {extra_options}" if track_statements else extra_options
        self._initialized = False
        self.running = False

    @property
    def url(self) -> str:
        """The asyncpg SQLAlchemy URL of the ``partnerlink`` database."""
        return f"postgresql+asyncpg://{_SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        """initdb (first time), ``pg_ctl start -w``, createdb (first time). About 1-2 s."""
        if not self._initialized:
            self._initdb()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off "
            f"-c unix_socket_directories={self.datadir} {self._extra}"
        )
        self._pg_ctl(["-l", str(self.logfile), "-w", "-t", "30", "-o", options, "start"], "pg_ctl start")
        self.running = True
        if not self._initialized:
            self._run(
                [
                    str(self._bindir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    _SUPERUSER,
                    DATABASE,
                ],
                "createdb",
            )
            self._initialized = True

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl -m MODE stop`` (``fast`` disconnects clients; ``immediate`` is a crash)."""
        if self.running:
            self._pg_ctl(["-m", mode, "-w", "stop"], "pg_ctl stop")
            self.running = False

    def destroy(self) -> None:
        """Stop (immediate) and delete the cluster's directory. Idempotent."""
        with contextlib.suppress(PostgresUnavailable):
            self.stop("immediate")
        shutil.rmtree(self._root, ignore_errors=True)

    def _initdb(self) -> None:
        if self._as_user is not None:
            # mkdtemp makes 0o700 dirs owned by root: let `postgres` traverse and own them.
            os.chmod(self._root, 0o755)
            os.chown(self._root, self._uid, self._gid)
        self._run(
            [
                str(self._bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                _SUPERUSER,
                "-E",
                "UTF8",
                "--no-sync",
            ],
            "initdb",
        )

    def _pg_ctl(self, args: list[str], what: str) -> None:
        self._run([str(self._bindir / "pg_ctl"), "-D", str(self.datadir), *args], what)

    def _run(self, argv: list[str], what: str) -> None:
        _run(argv, as_user=self._as_user, what=what)


def _server_user() -> tuple[str | None, int, int]:
    """As root, the OS user that runs the server (``pg_ctl`` refuses root): name, uid, gid."""
    if os.geteuid() != 0:
        return None, -1, -1
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root but `runuser` is not available")
    try:
        entry = pwd.getpwnam(_RUN_AS)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root but there is no `{_RUN_AS}` OS user to run the server as"
        ) from None
    return _RUN_AS, entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Start a fresh PostgreSQL on a free 127.0.0.1 port; yield its asyncpg SQLAlchemy URL.

    ``PARTNERLINK_TEST_DATABASE_URL``, when set, is yielded instead and nothing starts.
    The cluster is destroyed on exit. Raises :class:`PostgresUnavailable`.
    """
    preset = os.environ.get(ENV_VAR)
    if preset:
        yield preset
        return
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.destroy()
