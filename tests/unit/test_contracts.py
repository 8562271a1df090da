"""The wire contract: code, generated ``contracts/schemas/`` and ``docs/contract.md`` agree."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.commands import RegisterPartner
from contracts.events import ADDITIONS_TO_V1, PartnershipAccepted, RejectionReason
from contracts.registry import COMMANDS, EVENTS
from tools.contracts_export import export_all

REPO = Path(__file__).parents[2]
SCHEMAS = REPO / "contracts" / "schemas"
CONTRACT_MD = REPO / "docs" / "contract.md"
REEXPORT = "re-run `python -m tools.contracts_export contracts/schemas` and commit the result"

ACTOR = {
    "kind": "partner",
    "tenant_id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "roles": ["admin-agent"],
}


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh ``export_all`` into a temporary directory: relative path → text."""
    directory = tmp_path_factory.mktemp("schemas")
    written = export_all(directory)
    assert written == sorted(written)
    return {path.relative_to(directory).as_posix(): path.read_text(encoding="utf-8") for path in written}


# (a) the committed schemas never drift from the code


def test_committed_schemas_equal_a_fresh_export(fresh_export: dict[str, str]) -> None:
    committed = {
        path.relative_to(SCHEMAS).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(SCHEMAS.rglob("*"))
        if path.is_file()
    }
    missing = sorted(set(fresh_export) - set(committed))
    stale = sorted(set(committed) - set(fresh_export))
    changed = sorted(
        name for name in set(fresh_export) & set(committed) if fresh_export[name] != committed[name]
    )
    assert not missing, f"contracts/schemas/ lacks {missing}: {REEXPORT}"
    assert not stale, f"contracts/schemas/ has files no longer produced {stale}: delete, {REEXPORT}"
    assert not changed, f"contracts/schemas/ is out of date for {changed}: {REEXPORT}"


def test_export_writes_every_type(fresh_export: dict[str, str]) -> None:
    expected = {
        "envelope.schema.json",
        "billing/Order.schema.json",
        "asyncapi.json",
        *(f"commands/{name}.schema.json" for name in COMMANDS),
        *(f"events/{name}.schema.json" for name in EVENTS),
    }
    assert set(fresh_export) == expected
    assert all(text.endswith("}\n") for text in fresh_export.values())


def test_export_is_deterministic(tmp_path: Path, fresh_export: dict[str, str]) -> None:
    again = {
        path.relative_to(tmp_path).as_posix(): path.read_text(encoding="utf-8")
        for path in export_all(tmp_path)
    }
    assert again == fresh_export


# (b) every name docs/contract.md promises exists in the code (and nothing undocumented)


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\b.*?$(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert match, f"docs/contract.md has no '## {title}' section"
    return match.group(1)


def _first_column_names(section: str) -> set[str]:
    """Backticked names in the first cell of each table row (``| `A` / `B` | ... |``)."""
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Za-z]\w*)`", first_cell))
    return names


@pytest.fixture(scope="module")
def contract_md() -> str:
    """The project's own copy of the wire contract (never skipped: it is in the repository)."""
    return CONTRACT_MD.read_text(encoding="utf-8")


def test_contract_commands_exist(contract_md: str) -> None:
    documented = _first_column_names(_section(contract_md, "Commands"))
    assert len(documented) >= 10, "could not read the Commands table of docs/contract.md"
    assert not documented - set(COMMANDS), (
        f"commands in docs/contract.md without a model: {sorted(documented - set(COMMANDS))}"
    )
    assert not set(COMMANDS) - documented, (
        f"commands not in docs/contract.md: {sorted(set(COMMANDS) - documented)}"
    )


def test_contract_events_exist(contract_md: str) -> None:
    documented = _first_column_names(_section(contract_md, "Events"))
    assert {"InvitationDeclined", "InvitationExpired", "EmailSent", "EmailFailed"} <= documented
    assert not documented - set(EVENTS), (
        f"events in docs/contract.md without a model: {sorted(documented - set(EVENTS))}"
    )
    undocumented = set(EVENTS) - documented - ADDITIONS_TO_V1
    assert not undocumented, f"events not in docs/contract.md nor declared additions: {sorted(undocumented)}"


def test_contract_rejection_reasons_exist(contract_md: str) -> None:
    documented = set(re.findall(r"`([a-z][a-z_]*)`", _section(contract_md, "Rejection reasons")))
    coded = set(typing.get_args(RejectionReason))
    assert len(documented) >= 10, "could not read the Rejection reasons section of docs/contract.md"
    assert not documented - coded, (
        f"reasons in docs/contract.md missing from RejectionReason: {sorted(documented - coded)}"
    )
    assert not coded - documented, (
        f"RejectionReason values not in docs/contract.md: {sorted(coded - documented)}"
    )


# (c) inbound lenient, outbound strict


def _register_partner(**extra: Any) -> dict[str, Any]:
    return {
        "actor": ACTOR,
        "partner_id": "1234567",
        "tenant_id": "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
        "name": "Contoso Reseller",
        "country": "se",
        "kind": "indirect-reseller",
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": "partner@contoso.example",
        "locale": "sv-SE",
        **extra,
    }


def test_inbound_commands_ignore_unknown_fields() -> None:
    command = RegisterPartner.model_validate(_register_partner(added_in_a_later_version="x"))
    assert command.partner_id == "1234567"
    assert command.tenant_id == "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert command.country == "SE"
    assert "added_in_a_later_version" not in command.model_dump()


def test_outbound_events_forbid_unknown_fields() -> None:
    data = {
        "partnership_id": "p-1",
        "provider_id": "1234567",
        "reseller_id": "7654321",
        "accepted_by": "admin@reseller.example",
    }
    assert PartnershipAccepted.model_validate(data).model_dump() == data
    with pytest.raises(ValidationError) as raised:
        PartnershipAccepted.model_validate({**data, "surprise": True})
    assert raised.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_event_schema_forbids_additional_properties(name: str) -> None:
    assert EVENTS[name].model_json_schema(mode="serialization").get("additionalProperties") is False


# (d) the AsyncAPI document


def test_asyncapi_mentions_the_commands_topic(fresh_export: dict[str, str]) -> None:
    document = json.loads(fresh_export["asyncapi.json"])
    assert document["info"]["title"] == "Partnerlink"
    assert document["info"]["version"] == "1.0.0"
    assert "partnerlink.commands" in fresh_export["asyncapi.json"]
    assert any(channel.get("address") == "partnerlink.commands" for channel in document["channels"].values())
