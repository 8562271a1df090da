"""``partnerlink serve`` with a bad setting or an unreachable server stops within seconds with
ONE line on stderr naming the ``PARTNERLINK_`` variable, its value (password masked) and the
cause: exit 2 for a bad setting, 3 for a server it cannot reach; nothing is migrated first.

Each test runs the real command as a process, in an empty folder whose default SQLite file
must still not exist afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.end_to_end import partnerlink
from tools.embedded.broker import free_tcp_port

SECRET = "s3cret-pw"


def serve(folder: Path, timeout: float = 60, **settings: str) -> tuple[int, str, float]:
    """Run ``partnerlink serve`` in ``folder`` with ``PARTNERLINK_<NAME>=value`` for each setting
    (nothing else of ours from the environment); returns exit code, stderr and seconds taken."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PARTNERLINK_")}
    env.update({f"PARTNERLINK_{name.upper()}": value for name, value in settings.items()})
    env.setdefault("PARTNERLINK_CONNECT_TIMEOUT_SECONDS", "2")
    env.setdefault("PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_tcp_port()}")
    env.setdefault("PARTNERLINK_HTTP_PORT", str(free_tcp_port()))
    started = time.monotonic()
    result = subprocess.run(
        [*partnerlink(), "serve"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return result.returncode, result.stderr, time.monotonic() - started


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{stderr}"
    (line,) = lines
    assert line.startswith("partnerlink serve: PARTNERLINK_"), line
    return line


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    assert not (tmp_path / "partnerlink.db").exists(), "the database was created before the checks passed"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel completes the handshake) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_database_with_an_unknown_host_is_unreachable(folder: Path) -> None:
    code, stderr, _ = serve(folder, database_url=f"postgresql+asyncpg://pl:{SECRET}@no-such-host.invalid/pl")

    line = one_line(stderr)
    assert code == 3
    assert line.startswith(
        "partnerlink serve: PARTNERLINK_DATABASE_URL=postgresql+asyncpg://pl:***@no-such-host.invalid/pl: "
    )
    assert "cannot reach the database" in line and "gaierror" in line
    assert SECRET not in stderr


def test_database_on_a_closed_port_is_unreachable(folder: Path) -> None:
    port = free_tcp_port()
    code, stderr, _ = serve(folder, database_url=f"postgresql+asyncpg://pl:{SECRET}@127.0.0.1:{port}/pl")

    line = one_line(stderr)
    assert code == 3
    assert f"PARTNERLINK_DATABASE_URL=postgresql+asyncpg://pl:***@127.0.0.1:{port}/pl" in line
    assert "ConnectionRefusedError" in line and SECRET not in stderr


def test_database_that_never_answers_gives_up_after_the_connect_timeout(
    folder: Path, silent_port: int
) -> None:
    code, stderr, seconds = serve(
        folder,
        database_url=f"postgresql+asyncpg://pl:{SECRET}@127.0.0.1:{silent_port}/pl",
        connect_timeout_seconds="1",
    )

    line = one_line(stderr)
    assert code == 3
    assert "PARTNERLINK_DATABASE_URL=" in line and "within 1 s" in line
    assert seconds < 15


def test_database_url_with_an_unsupported_scheme_is_a_bad_setting(folder: Path) -> None:
    code, stderr, _ = serve(folder, database_url=f"mysql://pl:{SECRET}@db/pl")

    line = one_line(stderr)
    assert code == 2
    assert line == (
        "partnerlink serve: PARTNERLINK_DATABASE_URL=mysql://pl:***@db/pl: unsupported scheme 'mysql'; "
        "use postgresql+asyncpg:// or sqlite+aiosqlite://"
    )


def test_sqlite_file_in_a_missing_folder_is_a_bad_setting(folder: Path) -> None:
    code, stderr, _ = serve(folder, database_url=f"sqlite+aiosqlite:///{folder}/missing/pl.db")

    assert code == 2
    assert "PARTNERLINK_DATABASE_URL=" in one_line(stderr) and "does not exist" in stderr


def test_malformed_region_overrides_name_the_variable(folder: Path) -> None:
    code, stderr, _ = serve(folder, region_overrides='{"TR": Europe}')

    line = one_line(stderr)
    assert code == 2
    assert line.startswith('partnerlink serve: PARTNERLINK_REGION_OVERRIDES={"TR": Europe}: not valid JSON')


def test_unknown_country_codes_in_region_overrides_are_refused(folder: Path) -> None:
    code, stderr, _ = serve(folder, region_overrides='{"TR": "Europe", "XX": "Europe", "QQ": "Asia"}')

    line = one_line(stderr)
    assert code == 2
    assert line.startswith("partnerlink serve: PARTNERLINK_REGION_OVERRIDES=")
    assert line.endswith("unknown ISO 3166-1 alpha-2 country codes: QQ, XX")


def test_a_value_of_the_wrong_type_names_the_variable(folder: Path) -> None:
    code, stderr, _ = serve(folder, smtp_port="twenty-five")

    assert code == 2
    assert one_line(stderr).startswith(
        "partnerlink serve: PARTNERLINK_SMTP_PORT=twenty-five: Input should be"
    )


def test_missing_templates_folder_is_a_bad_setting(folder: Path) -> None:
    code, stderr, _ = serve(folder, templates_dir=str(folder / "no-templates"))

    assert code == 2
    assert (
        one_line(stderr)
        == f"partnerlink serve: PARTNERLINK_TEMPLATES_DIR={folder / 'no-templates'}: no such folder"
    )


def test_unreachable_broker_stops_start_up_without_leaking_clients(folder: Path) -> None:
    port = free_tcp_port()
    code, stderr, seconds = serve(folder, kafka_bootstrap_servers=f"127.0.0.1:{port}")

    line = one_line(stderr)
    assert code == 3
    assert line.startswith(
        f"partnerlink serve: PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{port}: cannot reach the broker"
    )
    assert "ConnectionRefusedError" in line and "Unclosed" not in stderr
    assert seconds < 15


def test_broker_with_an_unknown_host_is_unreachable(folder: Path) -> None:
    code, stderr, _ = serve(folder, kafka_bootstrap_servers="no-such-broker.invalid:9092")

    assert code == 3
    assert "PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS=no-such-broker.invalid:9092: cannot reach" in one_line(stderr)


def test_broker_that_never_answers_gives_up_after_the_connect_timeout(folder: Path, silent_port: int) -> None:
    code, stderr, seconds = serve(
        folder, kafka_bootstrap_servers=f"127.0.0.1:{silent_port}", connect_timeout_seconds="1"
    )

    line = one_line(stderr)
    assert code == 3
    assert "PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS=" in line and "the broker did not answer" in line
    assert seconds < 15 and "Unclosed" not in stderr


def test_busy_http_port_stops_start_up_before_anything_else(folder: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, stderr, _ = serve(folder, http_port=str(port))

    assert code == 2
    assert (
        one_line(stderr)
        == f"partnerlink serve: PARTNERLINK_HTTP_PORT={port}: 127.0.0.1:{port} is already in use"
    )


def test_traceback_only_at_debug(folder: Path) -> None:
    code, stderr, _ = serve(folder, database_url="mysql://db/pl", log_level="DEBUG")

    assert code == 2
    assert "Traceback (most recent call last)" in stderr
    assert (
        stderr.strip()
        .splitlines()[-1]
        .startswith("partnerlink serve: PARTNERLINK_DATABASE_URL=mysql://db/pl")
    )


@pytest.mark.postgres
def test_database_that_refuses_is_a_bad_setting(folder: Path, postgres_server: str) -> None:
    url = postgres_server.rsplit("/", 1)[0] + "/no_such_database"
    code, stderr, _ = serve(folder, database_url=url)

    line = one_line(stderr)
    assert code == 2
    assert "PARTNERLINK_DATABASE_URL=" in line and "the database refused" in line
    assert "no_such_database" in line
