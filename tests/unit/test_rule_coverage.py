"""Every rule id of docs/domain.md is enforced somewhere and tested somewhere.

* each id appears in at least one test name or docstring under ``tests/``;
* each id that can refuse a command is cited by a ``Rejected(..., "<id>", ...)`` in
  ``service/`` (a rejection path). The rules that describe behaviour rather than forbid
  something are listed in ``NO_REJECTION`` with the reason, and must be cited in a
  docstring of the code that implements them instead.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "docs" / "domain.md"
"""The project's own statement of the rules (never skipped: it is in the repository)."""

NO_REJECTION = {
    "RR-2": "a request includes DAP or not; both are valid (RR-3 and PR-5 refuse the combinations)",
    "RR-6": "the link's portal follows the cloud; nothing to refuse",
    "MP-2": "a new relationship leaves subscriptions and partner of record as they are: an invariant",
    "IR-9": "a read-side filter (GET /providers/{id}/customers?reseller_id=)",
    "PR-3": "a read-side answer: no partners is an empty list, never an error",
    "GD-7": "warnings before an admin relationship ends come from the clock (service/admin_clock.py)",
    "GD-8": "extension or expiry at the end is the clock's doing; no command to refuse",
}


def _rule_ids() -> list[str]:
    return sorted(set(re.findall(r"\*\*([A-Z]{2}-\d+)\*\*", DOMAIN.read_text(encoding="utf-8"))))


def _text(directory: str) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / directory).rglob("*.py"))


def test_domain_md_has_the_rule_families() -> None:
    ids = _rule_ids()
    assert {"RR-1", "RR-8", "MP-3", "IR-9", "PR-5", "GD-1", "GD-9"} <= set(ids)


def test_every_rule_id_is_named_in_a_test() -> None:
    tests = _text("tests")
    missing = [
        rule for rule in _rule_ids() if rule not in tests and f"{rule.replace('-', '').lower()}_" not in tests
    ]
    assert not missing, f"rule ids no test names or documents: {missing}"


def test_every_refusable_rule_has_a_rejection_path_and_the_others_are_documented() -> None:
    service = _text("service") + _text("handlers")
    cited_in_rejections = set(re.findall(r'"([A-Z]{2}-\d+)"', service))
    missing = [rule for rule in _rule_ids() if rule not in NO_REJECTION and rule not in cited_in_rejections]
    assert not missing, f"rule ids no rejection cites: {missing}"
    undocumented = [rule for rule in NO_REJECTION if rule not in service]
    assert not undocumented, f"rules without a rejection must be cited in the code: {undocumented}"
