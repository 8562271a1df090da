"""Regenerates stream.jsonl, the demo's sample stream (python samples/make_stream.py)."""
import json
from pathlib import Path
lines = []
n = 0
def cid():
    global n; n += 1
    return f"00000000-demo-4000-8000-{n:012d}"
def ce(type_, data, subject, id_=None):
    return {"specversion": "1.0", "id": id_ or cid(), "source": "urn:example:partner-center", "type": type_,
            "subject": subject, "time": "2026-11-21T10:00:00Z", "datacontenttype": "application/json", "data": data}
def note(text): lines.append({"kind": "note", "text": text})
def send(type_, data, key, id_=None): lines.append({"kind": "command", "key": key, "event": ce(type_, data, key, id_)})
SYSTEM = {"kind": "system", "tenant_id": "partner-center", "user": "onboarding-sync"}
partners = {
  "contoso":   ("1234567", "3f8a1c52-6e0b-4d2a-9c71-0a1b2c3d4e01", "Contoso Cloud AB", "SE", "direct", "partners@contoso.example", "sv-SE"),
  "anadolu":   ("2345678", "3f8a1c52-6e0b-4d2a-9c71-0a1b2c3d4e02", "Anadolu Bulut Bilişim A.Ş.", "TR", "direct", "iletisim@anadolubulut.example", "tr-TR"),
  "northwind": ("3456789", "3f8a1c52-6e0b-4d2a-9c71-0a1b2c3d4e03", "Northwind Federal Solutions", "US", "direct", "csp@northwind.example", "en-US"),
  "fabrikam":  ("4567890", "3f8a1c52-6e0b-4d2a-9c71-0a1b2c3d4e04", "Fabrikam Distribution GmbH", "DE", "indirect-provider", "csp@fabrikam.example", "en-US"),
  "tailspin":  ("5678901", "3f8a1c52-6e0b-4d2a-9c71-0a1b2c3d4e05", "Tailspin IT Reseller GmbH", "DE", "indirect-reseller", "sales@tailspin.example", "en-US"),
}
def actor(p, roles=("admin-agent",)): return {"kind": "partner", "tenant_id": partners[p][1], "user": f"agent@{p}.example", "roles": list(roles)}
note("Partners are registered (reference data from Partner Center)")
for key, (mpn, tenant, name, country, kind, email, locale) in partners.items():
    send("RegisterPartner", {"actor": SYSTEM, "partner_id": mpn, "tenant_id": tenant, "name": name, "country": country,
         "kind": kind, "csp_enrolled": True, "mpa_active": True, "contact_email": email, "locale": locale}, mpn)
C = lambda i: f"7c2e9d10-51a4-4b8e-a6f3-00000000{i:04d}"
customers = {
  "lindqvist": dict(tenant_id=C(1), company_name="Lindqvist Bygg AB", country="SE", cloud="public", admin_email="it-admin@lindqvistbygg.example", locale="sv-SE"),
  "fjord": dict(tenant_id=C(2), company_name="Fjordkraft Data AS", country="NO", cloud="public", admin_email="admin@fjordkraftdata.example", locale="nb-NO"),
  "ege": dict(tenant_id=C(3), company_name="Ege Tekstil Sanayi A.Ş.", country="TR", cloud="public", admin_email="bt.yonetici@egetekstil.example", locale="tr-TR"),
  "county": dict(tenant_id=C(4), company_name="Cascade County Health District", country="US", cloud="us-government", admin_email="m365-admin@cascadecounty.example", locale="en-US"),
  "bayern": dict(tenant_id=C(5), company_name="Bayerische Messtechnik GmbH", country="DE", cloud="germany", admin_email="admin@bayern-messtechnik.example", locale="de-DE"),
  "sao": dict(tenant_id=C(6), company_name="São Paulo Logística Ltda", country="BR", cloud="public", admin_email="ti@splogistica.example", locale="pt-BR"),
  "rival": dict(tenant_id=C(7), company_name="Adventure Works Cloud Partner AB", country="SE", cloud="public", admin_email="admin@adventureworks.example", locale="sv-SE", is_csp_partner=True),
  "boras": dict(tenant_id=C(8), company_name="Borås Textilhögskola Service AB", country="SE", cloud="public", admin_email="admin@borastextil.example", locale="sv-SE"),
  "izmir": dict(tenant_id=C(9), company_name="İzmir Liman Lojistik Ltd. Şti.", country="TR", cloud="public", admin_email="sistem@izmirliman.example", locale="tr-TR"),
}
def request(p, c, dap, message=None, roles=("admin-agent",), id_=None, actor_of=None):
    data = {"actor": actor(actor_of or p, roles), "partner_id": partners[p][0], "customer": customers[c], "include_delegated_admin": dap}
    if message: data["message"] = message
    send("RequestResellerRelationship", data, customers[c]["tenant_id"], id_)
def accept(c, global_admin=True, mca=True, as_tenant=None):
    lines.append({"kind": "accept_from_email", "to": customers[c]["admin_email"], "key": customers[c]["tenant_id"],
                  "actor": {"kind": "customer", "tenant_id": as_tenant or customers[c]["tenant_id"], "user": customers[c]["admin_email"], "roles": ["global-admin"] if global_admin else []},
                  "accepted_by": {"user": customers[c]["admin_email"], "is_global_admin": global_admin},
                  "accept_customer_agreement": mca})
def decline(c, reason):
    lines.append({"kind": "decline_from_email", "to": customers[c]["admin_email"], "key": customers[c]["tenant_id"],
                  "actor": {"kind": "customer", "tenant_id": customers[c]["tenant_id"], "user": customers[c]["admin_email"], "roles": ["global-admin"]},
                  "reason": reason})
note("Customers are invited in their own locales and clouds (RR-1, RR-2, RR-6)")
request("contoso", "lindqvist", True, message="Hej! Som vi pratade om i telefon: här är inbjudan.")
request("contoso", "fjord", False)
request("anadolu", "ege", True, message="Görüşmemizde konuştuğumuz davet ektedir.")
request("northwind", "county", True)
request("fabrikam", "bayern", True)
request("contoso", "boras", False)
request("anadolu", "izmir", True)
note("Requests that break a rule are refused with a CommandRejected")
request("northwind", "county", False)                      # RR-3 us-government needs DAP
request("contoso", "sao", True)                            # RR-4 SE partner, BR customer
request("contoso", "rival", True)                          # MP-3 customer is a CSP partner
request("contoso", "ege", True, actor_of="anadolu")         # ACT-1 a partner acting as another
request("contoso", "boras", True, roles=("billing-admin",)) # ACT-1 role not allowed
note("Global admins accept through the link in the email they received (RR-5, RR-7)")
accept("lindqvist")
accept("ege")
accept("county")
accept("fjord", global_admin=False)                        # RR-5 not a global admin: refused
accept("fjord")                                            # then the global admin accepts
accept("bayern", mca=False)                                # RR-5 MCA not accepted: refused
accept("bayern")
decline("boras", "Vi har redan en partner för detta.")
accept("boras")                                            # INV-1 the declined link is spent
accept("izmir", as_tenant=customers["ege"]["tenant_id"])   # ACT-1 another tenant's admin
note("Multi-partner (MP-1): a second partner invites a customer that already has one")
request("fabrikam", "lindqvist", False, id_="00000000-demo-4000-8000-dup000000001")
note("At-least-once delivery: the same command delivered twice has its effects once")
request("fabrikam", "lindqvist", False, id_="00000000-demo-4000-8000-dup000000001")
note("Unreadable messages go to the dead-letter topic with the error in headers")
lines.append({"kind": "raw", "key": "garbage", "value": "this is not JSON {"})
lines.append({"kind": "raw", "key": "no-envelope", "value": json.dumps({"type": "RequestResellerRelationship", "partner_id": "1234567"})})
lines.append({"kind": "raw", "key": "unknown-type", "value": json.dumps(ce("TransferBillingOwnership", {"actor": SYSTEM}, "x"))})
lines.append({"kind": "raw", "key": "schema", "value": json.dumps(ce("RequestResellerRelationship", {"actor": actor("contoso"), "partner_id": "12-34", "customer": {"tenant_id": "not-a-guid"}, "include_delegated_admin": "maybe"}, "x"))})
note("Billing publishes Partner Center orders on billing.orders")
lines.append({"kind": "order", "key": C(1), "order": {"id": "ord-2026-000101", "referenceCustomerId": C(1), "billingCycle": "monthly", "creationDate": "2026-11-21T10:05:00Z", "status": "completed",
   "lineItems": [{"lineItemNumber": 0, "offerId": "CFQ7TTC0LH18:0001", "subscriptionId": "5a9c1f3e-0b7d-4e6a-9f21-000000000101", "quantity": 25, "partnerIdOnRecord": "5678901"},
                 {"lineItemNumber": 1, "offerId": "DZH318Z0BQ3Q:0001", "subscriptionId": "5a9c1f3e-0b7d-4e6a-9f21-000000000102", "quantity": 1}]}})
lines.append({"kind": "order", "key": C(3), "cloudevent": True, "order": {"id": "ord-2026-000102", "referenceCustomerId": C(3), "billingCycle": "annual", "creationDate": "2026-11-21T10:06:00Z", "status": "completed",
   "lineItems": [{"lineItemNumber": 0, "offerId": "CFQ7TTC0LF8Q:0001", "subscriptionId": "5a9c1f3e-0b7d-4e6a-9f21-000000000103", "quantity": 40}]}})
lines.append({"kind": "order", "key": "7c2e9d10-51a4-4b8e-a6f3-00000000ffff", "order": {"id": "ord-2026-000103", "referenceCustomerId": "7c2e9d10-51a4-4b8e-a6f3-00000000ffff", "billingCycle": "monthly", "status": "completed",
   "lineItems": [{"lineItemNumber": 0, "offerId": "CFQ7TTC0LH18:0001", "subscriptionId": "5a9c1f3e-0b7d-4e6a-9f21-000000000104", "quantity": 3}]}})
with open(Path(__file__).with_name("stream.jsonl"), "w", encoding="utf-8") as f:
    for l in lines: f.write(json.dumps(l, ensure_ascii=False) + "\n")
print(len(lines))
