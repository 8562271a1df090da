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

__all__ = ["ENV_VAR", "PostgresUnavailable", "find_postgres_bindir", "running_postgres"]

ENV_VAR = "PARTNERLINK_TEST_DATABASE_URL"
DATABASE = "partnerlink"
_SUPERUSER = "postgres"
_RUN_AS = "postgres"


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


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Start a fresh PostgreSQL on a free 127.0.0.1 port; yield its asyncpg SQLAlchemy URL.

    The cluster (trust auth, superuser ``postgres``, UTF8, fsync off) lives in a temp
    directory removed on exit, after ``pg_ctl -m immediate stop``. Database
    ``partnerlink`` is created. Start-up takes about 1-2 s. Raises
    :class:`PostgresUnavailable` when binaries are missing or a step fails.
    """
    preset = os.environ.get(ENV_VAR)
    if preset:
        yield preset
        return

    bindir = find_postgres_bindir()
    as_user: str | None = None
    uid = gid = -1
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root but `runuser` is not available")
        try:
            entry = pwd.getpwnam(_RUN_AS)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root but there is no `{_RUN_AS}` OS user to run the server as"
            ) from None
        as_user, uid, gid = _RUN_AS, entry.pw_uid, entry.pw_gid

    root = Path(tempfile.mkdtemp(prefix="partnerlink-pg-"))
    datadir = root / "data"
    logfile = root / "server.log"
    started = False
    try:
        if as_user is not None:
            # mkdtemp makes 0o700 dirs owned by root: let `postgres` traverse and own them.
            os.chmod(root, 0o755)
            os.chown(root, uid, gid)
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-A",
                "trust",
                "-U",
                _SUPERUSER,
                "-E",
                "UTF8",
                "--no-sync",
            ],
            as_user=as_user,
            what="initdb",
        )
        port = _free_port()
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off "
            f"-c unix_socket_directories={datadir}"
        )
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(logfile),
                "-w",
                "-t",
                "30",
                "-o",
                options,
                "start",
            ],
            as_user=as_user,
            what="pg_ctl start",
        )
        started = True
        _run(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                _SUPERUSER,
                DATABASE,
            ],
            as_user=as_user,
            what="createdb",
        )
        yield f"postgresql+asyncpg://{_SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if started:
            with contextlib.suppress(PostgresUnavailable):
                _run(
                    [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"],
                    as_user=as_user,
                    what="pg_ctl stop",
                )
        shutil.rmtree(root, ignore_errors=True)
