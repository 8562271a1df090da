"""The ``partnerlink`` command line (version, help texts, ``publish`` keys) and the tools' own
command lines (``python -m bench.perf|bench.faults|tools.demo|tools.dev``)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bench.faults.cli import main as faults_main
from bench.perf.run import main as perf_main
from service.cli import main
from service.metrics import package_version
from service.publish import records
from service.settings import Settings
from tools.contracts_export import main as contracts_export_main
from tools.demo import main as demo_main
from tools.dev import main as dev_main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"partnerlink {package_version()}"


@pytest.mark.parametrize(
    ("tool", "usage"),
    [
        (perf_main, "python -m bench.perf"),
        (faults_main, "python -m bench.faults"),
        (demo_main, "python -m tools.demo"),
        (dev_main, "python -m tools.dev"),
        (contracts_export_main, "python -m tools.contracts_export"),
    ],
)
def test_each_tool_has_its_own_help(
    tool: Callable[[list[str]], int], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        tool(["--help"])

    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith(f"usage: {usage}")
    assert "``" not in out


def test_bench_refuses_an_unknown_flag_in_its_own_words(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        perf_main(["--no-such-flag"])

    assert exit_.value.code == 2
    assert "python -m bench.perf: error: unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_serve_help_lists_every_setting_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])

    out = capsys.readouterr().out
    for name in Settings.model_fields:
        assert f"PARTNERLINK_{name.upper()}=" in out
    assert "PARTNERLINK_HTTP_PORT=8080" in out and "PARTNERLINK_DATABASE_AUTO_MIGRATE=true" in out
    assert "2 bad setting, 3 server unreachable" in out


@pytest.mark.parametrize("argv", [["--help"], ["publish", "--help"], ["db", "upgrade", "--help"]])
def test_help_texts_show_no_markup(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)

    assert "``" not in capsys.readouterr().out


def test_publish_keys_commands_by_subject_and_orders_by_customer() -> None:
    command = {"specversion": "1.0", "id": "c-1", "type": "RegisterPartner", "subject": "1234567", "data": {}}
    order = {"id": "o-1", "referenceCustomerId": "tenant-9", "lineItems": []}
    bare = {"id": "e-1", "type": "RegisterPartner"}

    published = records([json.dumps(command), "", json.dumps(order), json.dumps(bare)])

    assert [(key, label) for key, _, label in published] == [
        (b"1234567", "RegisterPartner id=c-1"),
        (b"tenant-9", "record id=o-1"),
        (b"e-1", "RegisterPartner id=e-1"),
    ]
    assert json.loads(published[0][1]) == command


@pytest.mark.parametrize(
    ("line", "error"), [("{oops", "line 1: not JSON"), ("[1, 2]", "line 1: not a JSON object")]
)
def test_publish_refuses_what_is_not_a_json_object(line: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        records([line])
