"""Seed the HubSpot emulator's portal from the World: owners, companies, contacts, deals,
NPS feedback submissions, activities (`seed_activities`) and the associations between
them (deterministic per world).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from csbridge_sandbox.hubspot.seed_activities import seed_activities
from csbridge_sandbox.hubspot.store import HS_CREATEDATE, HsObject, HubSpotStore, iso
from csbridge_sandbox.world.build import World
from csbridge_sandbox.world.csm_input import CsmInputs, inputs

STAGES = {
    "Prospecting": "appointmentscheduled",
    "Qualification": "qualifiedtobuy",
    "Proposal/Price Quote": "presentationscheduled",
    "Negotiation/Review": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}


def _stamp(created: datetime, now: datetime, index: int) -> str:
    span = max(int((now - created).total_seconds()), 1)
    return iso(created + timedelta(seconds=(index * 7919) % span))


def _put(
    store: HubSpotStore,
    obj_type: str,
    object_id: str,
    created: datetime,
    now: datetime,
    index: int,
    props: dict[str, str | None],
) -> None:
    created = min(created, now)
    updated = _stamp(created, now, index)
    created_key = "hs_createdate" if obj_type in HS_CREATEDATE else "createdate"
    modified_key = "lastmodifieddate" if obj_type == "contacts" else "hs_lastmodifieddate"
    clean: dict[str, str | None] = {k: v for k, v in props.items() if v not in (None, "")}
    clean.update({"hs_object_id": object_id, created_key: iso(created), modified_key: updated})
    store.objects[obj_type][object_id] = HsObject(object_id, obj_type, clean, iso(created), updated)


def _inputs(filled: CsmInputs) -> dict[str, str]:
    """The CSM-input properties filled in (HubSpot returns every value as text)."""
    values = {
        "cs_relationship_quality": filled.relationship,
        "cs_community_level": filled.community,
        "cs_referrals_12m": filled.referrals,
        "cs_days_past_due": filled.days_past_due,
    }
    return {name: str(value) for name, value in values.items() if value is not None}


def seed_portal(store: HubSpotStore, world: World) -> None:
    """Fill `store` with the World's CRM data as HubSpot holds it."""
    now = world.now
    for o in (*world.owners, world.manager):
        store.owners.append(
            {
                "id": o.hubspot_id,
                "email": o.email,
                "type": "PERSON",
                "firstName": o.first_name,
                "lastName": o.last_name,
                "userId": int(o.hubspot_id) + 1000,
                "userIdIncludingInactive": int(o.hubspot_id) + 1000,
                "createdAt": iso(now - timedelta(days=900)),
                "updatedAt": iso(now - timedelta(days=30)),
                "archived": False,
                "teams": [{"id": "1", "name": "Customer Success", "primary": True}],
            }
        )
    owners = {o.id: o.hubspot_id for o in (*world.owners, world.manager)}
    accounts = {}
    for i, a in enumerate(world.accounts):
        accounts[a.key] = a
        _put(
            store,
            "companies",
            a.hubspot_id,
            a.created_at,
            now,
            i,
            {
                "name": a.name,
                "domain": a.domain,
                "industry": a.industry,
                "hubspot_owner_id": owners.get(a.owner),
                "lifecyclestage": "customer",
                "numberofemployees": str(a.seats * 4),
                "arr": str(a.arr),
                "seats": str(a.seats),
                "plan": a.plan,
                "renewal_date": a.renewal_date.isoformat(),
                **_inputs(inputs(world.seed, a)),
            },
        )
    contacts = {}
    for i, c in enumerate(world.contacts):
        contacts[c.key] = c
        company = accounts[c.account_key]
        _put(
            store,
            "contacts",
            c.hubspot_id,
            c.created_at,
            now,
            i,
            {
                "firstname": c.first_name,
                "lastname": c.last_name,
                "email": c.email,
                "jobtitle": c.title,
                "associatedcompanyid": company.hubspot_id,
                "hubspot_owner_id": owners.get(company.owner),
                "cs_role": c.role,
                "left_company": "true" if c.left_company else "false",
            },
        )
        store.associate("contacts", c.hubspot_id, "companies", company.hubspot_id)
    for i, d in enumerate(world.opportunities):
        company = accounts[d.account_key]
        _put(
            store,
            "deals",
            d.hubspot_id,
            d.created_at,
            now,
            i,
            {
                "dealname": f"{company.name} - {d.type.title()} {d.close_date.year}",
                "amount": str(d.amount),
                "closedate": iso(
                    datetime(
                        d.close_date.year, d.close_date.month, d.close_date.day, tzinfo=now.tzinfo
                    )
                ),
                "pipeline": "default",
                "dealstage": STAGES.get(d.stage, "qualifiedtobuy"),
                "dealtype": "newbusiness" if d.type == "new" else "existingbusiness",
                "deal_kind": d.type,
                "hubspot_owner_id": owners.get(company.owner),
            },
        )
        store.associate("deals", d.hubspot_id, "companies", company.hubspot_id)
    for i, n in enumerate(world.nps_answers):
        contact = contacts.get(n.contact_key)
        group = "PROMOTER" if n.score >= 9 else ("PASSIVE" if n.score >= 7 else "DETRACTOR")
        _put(
            store,
            "feedback_submissions",
            n.hubspot_id,
            n.submitted_at,
            now,
            i,
            {
                "hs_survey_type": "NPS",
                "hs_value": str(n.score),
                "hs_response_group": group,
                "hs_content": n.comment or None,
                "hs_survey_channel": "EMAIL",
                "hs_survey_id": "1001",
                "hs_survey_name": "Quarterly NPS",
                "hs_submission_name": f"NPS response {i + 1}",
                "hs_submission_timestamp": iso(n.submitted_at),
                "hs_contact_id": contact.hubspot_id if contact else None,
            },
        )
        if contact is not None:
            store.associate("feedback_submissions", n.hubspot_id, "contacts", contact.hubspot_id)
        store.associate(
            "feedback_submissions", n.hubspot_id, "companies", accounts[n.account_key].hubspot_id
        )
    seed_activities(store, world, _put)
    for obj_type, table in store.objects.items():
        # listing relies on insertion order being id order
        store.objects[obj_type] = dict(sorted(table.items(), key=lambda kv: int(kv[0])))
