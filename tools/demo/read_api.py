"""The demo's questions to the read API: each ``query`` step of the stream as a ``GET``, its
answer described in a few lines by its shape."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tools.demo.console import Json, say, short_time
from tools.demo.player import Demo

if TYPE_CHECKING:
    import httpx

HTTP_TIMEOUT_SECONDS = 5.0
TIMELINE_LINES = 16


def instant_between(demo: Demo, spec: Json) -> str | None:
    """The instant halfway between the ``nth`` event of ``type`` on ``subscription_id`` and the
    next one (or that event's own instant if it is the last); ``None`` if it was not seen."""
    seen = demo.changes.get((spec["type"], spec["subscription_id"]), [])
    nth = int(spec["nth"])
    if len(seen) < nth:
        return None
    start = datetime.fromisoformat(seen[nth - 1])
    if len(seen) == nth:
        return start.isoformat()
    return (start + (datetime.fromisoformat(seen[nth]) - start) / 2).isoformat()


def describe(body: Any) -> list[str]:
    """A few lines for a read API answer, by its shape."""
    if not isinstance(body, dict):
        return [json.dumps(body)[:200]]
    for key, describer in DESCRIBERS.items():
        if key in body:
            return describer(body)
    return [json.dumps(body, ensure_ascii=False)[:200]]


def describe_readiness(body: Json) -> list[str]:
    checks = ", ".join(f"{name} {status}" for name, status in body["checks"].items())
    return [f"{body['status']}  ({checks})"]


def describe_partners(body: Json) -> list[str]:
    lines = [
        f"{p['partner_id']}  {p['partner_name']}  DAP {'yes' if p['delegated_admin'] else 'no'}  "
        f"since {short_time(p['since'])}"
        for p in body["partners"]
    ]
    provider, reseller = body.get("indirect_provider_id"), body.get("indirect_reseller_id")
    if provider or reseller:
        lines.append(f"indirect provider {provider}, associated reseller {reseller}")
    return lines or ["partners: []  (none, and no error)"]


def describe_resellers(body: Json) -> list[str]:
    lines = [
        f"{r['reseller_id']}  {r['name']} ({r['country']})  since {short_time(r['since'])}"
        for r in body["resellers"]
    ]
    return lines or ["resellers: []"]


def describe_customers(body: Json) -> list[str]:
    lines = [
        f"{c['tenant_id']}  {c['company_name']} ({c['country']}, {c['cloud']})  "
        f"reseller {c['associated_reseller_id']}"
        for c in body["customers"]
    ]
    return lines or ["customers: []"]


def describe_attribution(body: Json) -> list[str]:
    contact = body.get("support_contact")
    support = f"{contact['kind']} {contact['partner_id']}" if contact else "none"
    lines = [
        f"at {short_time(body['at'], precise=True)}: reseller {body['reseller_mpn_id']}, partner of record "
        f"{body['partner_of_record']}  (now: {body['status']}, support contact {support})"
    ]
    for attribute, intervals in body["history"].items():
        spans = "; ".join(
            f"{i['value']} {short_time(i['valid_from'], True)}→{short_time(i['valid_to'], True)}"
            for i in intervals
        )
        lines.append(f"{attribute} history: {spans or '-'}")
    return lines


def describe_admin_relationships(body: Json) -> list[str]:
    lines = [
        f"{r['display_name']}: {r['partner_id']} → {r['customer_name'] or r['customer_tenant_id']}  "
        f"{r['status']}, {len(r['roles'])} role(s), auto-extend {r['auto_extend']}, "
        f"ends {(r['ends_at'] or '…')[:10]}"
        for r in body["admin_relationships"]
    ]
    return lines or ["admin_relationships: []"]


def describe_timeline(body: Json) -> list[str]:
    entries = body["entries"]
    lines = [
        f"{e['seq']:>4}  {e['event_type']:<30} by {e['actor']['kind']:<8} "
        f"{e['actor']['user'] or e['actor']['tenant_id']}  ({e['command_type']})"
        for e in entries[:TIMELINE_LINES]
    ]
    if len(entries) > TIMELINE_LINES:
        lines.append(f"… {len(entries) - TIMELINE_LINES} more")
    return lines or ["entries: []"]


DESCRIBERS = {
    "checks": describe_readiness,
    "partners": describe_partners,
    "resellers": describe_resellers,
    "customers": describe_customers,
    "history": describe_attribution,
    "entries": describe_timeline,
    "admin_relationships": describe_admin_relationships,
}


def read_request(demo: Demo, query: Json) -> tuple[str, dict[str, str]] | None:
    """The path and query parameters of a stream's ``query`` step (``None``: its instant is unknown)."""
    url = urlsplit(query["path"])
    params = dict(parse_qsl(url.query))
    if "at" in query:
        at = instant_between(demo, query["at"])
        if at is None:
            return None
        params["at"] = at
    return url.path, params


async def answer_lines(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[str]:
    """The answer to ``GET path`` described in a few lines; a failure is one line, never raised."""
    import httpx

    try:
        response = await client.get(path, params=params)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return [f"✗ failed: {type(exc).__name__}: {exc}"[:160]]
    if response.status_code == 200:
        return describe(body)
    if isinstance(body, dict) and "checks" in body:
        return [f"✗ HTTP {response.status_code}: {describe(body)[0]}"]
    return [f"✗ HTTP {response.status_code}: {json.dumps(body, ensure_ascii=False)[:140]}"]


async def ask_read_api(demo: Demo, base_url: str, queries: list[Json]) -> None:
    """Ask the read API the stream's questions (after the readiness check); failures are printed."""
    say(f"\n== Read API on {base_url}  (OpenAPI document: {base_url}/openapi.json, docs: {base_url}/docs)")
    try:
        import httpx
    except ImportError:
        say("  httpx is not installed (pip install httpx): skipped")
        return
    async with httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_SECONDS) as client:
        for query in [{"title": "readiness", "path": "/health/ready"}, *queries]:
            request = read_request(demo, query)
            if request is None:
                say(f"  GET {query['path']}  — {query['title']}: the change it asks about was not seen")
                continue
            path, params = request
            shown_query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
            say(f"  GET {path}{shown_query}  — {query['title']}")
            for line in await answer_lines(client, path, params):
                say(f"    {line}")
