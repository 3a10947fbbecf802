"""Intake over real HTTP (uvicorn, port 0) on SQLite and PostgreSQL: matrix B1-B10, F5."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import webhook_signing as signing
from conftest import Service
from sqlalchemy import func, select

from csbridge.store.tables import webhook_inbox


def inbox_rows(service: Service) -> list[tuple[str, str, str]]:
    query = select(webhook_inbox.c.source, webhook_inbox.c.event_id, webhook_inbox.c.status)
    with service.store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query.order_by(webhook_inbox.c.id))]


def post_standard(service: Service, body: bytes, msg_id: str, **kw: object) -> int:
    headers = signing.standard_headers(body, msg_id, **kw)  # type: ignore[arg-type]
    return service.client.post("/webhooks/standard", content=body, headers=headers).status_code


def test_signed_event_is_stored_then_acknowledged(service: Service) -> None:
    response = service.client.post(
        "/webhooks/standard",
        content=signing.standard_event(),
        headers=signing.standard_headers(signing.standard_event(), "msg_1"),
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "new": 1}
    assert inbox_rows(service) == [("standard", "msg_1", "pending")]
    with service.store.engine.connect() as connection:
        row = connection.execute(select(webhook_inbox)).one()
    assert bytes(row.body) == signing.standard_event()
    assert "webhook-signature" not in row.headers


def test_bad_inputs_matrix(service: Service) -> None:
    body = signing.standard_event()
    now = signing.now_ts()
    cases: list[tuple[str, bytes, dict[str, str], int]] = [
        (
            "B1 signed malformed JSON",
            b"{not json",
            signing.standard_headers(b"{not json", "b1"),
            200,
        ),
        ("B1' unsigned malformed", b"{not json", {"webhook-id": "x"}, 401),
        (
            "B2 wrong signature",
            body,
            signing.standard_headers(
                body, "b2", secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
            ),
            401,
        ),
        *[
            (
                f"B2 malformed {bad!r}",
                body,
                {**signing.standard_headers(body, "b2m"), "webhook-signature": bad},
                401,
            )
            for bad in ("garbage", "v1,!!!", "v1,a,b")
        ],
        ("B3 stale", body, signing.standard_headers(body, "b3", ts=now - 330), 401),
        ("B3 future", body, signing.standard_headers(body, "b3f", ts=now + 330), 401),
        (
            "B3 bad stamp",
            body,
            {**signing.standard_headers(body, "b3x"), "webhook-timestamp": "soon"},
            401,
        ),
        (
            "B7 non-UTF-8 signed",
            b"\xff\xfe\x00",
            signing.standard_headers(b"\xff\xfe\x00", "b7"),
            200,
        ),
        ("B7 non-UTF-8 unsigned", b"\xff\xfe\x00", {}, 401),
    ]
    for label, content, headers, expected in cases:
        response = service.client.post("/webhooks/standard", content=content, headers=headers)
        assert response.status_code == expected, label
    # B8: svix-* headers instead of webhook-*
    svix = {
        k.replace("webhook-", "svix-"): v for k, v in signing.standard_headers(body, "b8").items()
    }
    assert service.client.post("/webhooks/standard", content=body, headers=svix).status_code == 200
    # B9: two signatures, the second valid; and a body signed with the rotated (new) secret
    headers = signing.standard_headers(body, "b9")
    headers["webhook-signature"] = (
        "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + headers["webhook-signature"]
    )
    assert (
        service.client.post("/webhooks/standard", content=body, headers=headers).status_code == 200
    )
    rotated = signing.standard_headers(body, "b9r", secret=signing.ROTATED_SECRET)
    assert (
        service.client.post("/webhooks/standard", content=body, headers=rotated).status_code == 200
    )
    stored = {event_id for _, event_id, _ in inbox_rows(service)}
    assert stored == {"b1", "b7", "b8", "b9", "b9r"}


def test_size_limit_and_unknown_source(service: Service) -> None:
    big = b"x" * 5000
    signed = signing.standard_headers(big, "big")
    assert service.client.post("/webhooks/standard", content=big, headers=signed).status_code == 413

    def chunks() -> object:
        for _ in range(10):
            yield b"y" * 1000

    response = service.client.post("/webhooks/standard", content=chunks())  # chunked, no length
    assert response.status_code == 413
    for source in ("nosuch", "vitally"):  # vitally is known but has no secret configured
        response = service.client.post(f"/webhooks/{source}", content=b"{}")
        assert response.status_code == 404, source
    assert inbox_rows(service) == []


def test_duplicates_sequential_and_concurrent(service: Service) -> None:
    body = signing.standard_event()
    assert [post_standard(service, body, "dup") for _ in range(3)] == [200, 200, 200]
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(lambda _: post_standard(service, body, "race"), range(32)))
    assert codes == [200] * 32
    assert sorted(e for _, e, _ in inbox_rows(service)) == ["dup", "race"]


def test_hubspot_batch_splits_per_event_and_dedupes_rebatched_retries(service: Service) -> None:
    def event(event_id: int, attempt: int = 0) -> dict[str, object]:
        return {
            "eventId": event_id,
            "subscriptionType": "contact.propertyChange",
            "objectId": 777,
            "occurredAt": 1763892000000,
            "propertyName": "hs_feedback_last_nps_rating",
            "propertyValue": "3",
            "attemptNumber": attempt,
        }

    url = f"{service.url}/webhooks/hubspot"
    for batch in ([event(1), event(2)], [event(2, 1), event(3, 1)]):
        body = json.dumps(batch).encode()
        response = service.client.post(
            url, content=body, headers=signing.hubspot_headers(url, body)
        )
        assert response.status_code == 200
    body = json.dumps([event(4)]).encode()
    wrong_url = signing.hubspot_headers(url + "?x=1", body)
    assert service.client.post(url, content=body, headers=wrong_url).status_code == 401
    stale = signing.hubspot_headers(url, body, ts_ms=(signing.now_ts() - 400) * 1000)
    assert service.client.post(url, content=body, headers=stale).status_code == 401
    assert [e for _, e, _ in inbox_rows(service)] == ["1", "2", "3"]


def test_zendesk_and_platform_schemes(service: Service) -> None:
    body = json.dumps({"id": "zd-1", "type": "zen:event-type:ticket.created"}).encode()
    ok = service.client.post(
        "/webhooks/zendesk", content=body, headers=signing.zendesk_headers(body)
    )
    assert ok.status_code == 200
    old = signing.zendesk_headers(body, stamp="2024-04-17T17:18:10Z")
    assert service.client.post("/webhooks/zendesk", content=body, headers=old).status_code == 401
    event = signing.platform_event("gs-1")
    token = {"x-csbridge-token": signing.PLATFORM_SECRET}
    assert (
        service.client.post("/webhooks/gainsight", content=event, headers=token).status_code == 200
    )
    bad = {"x-csbridge-token": "nope"}
    assert service.client.post("/webhooks/gainsight", content=event, headers=bad).status_code == 401
    import hashlib
    import hmac

    event = signing.platform_event("ph-1")
    digest = hmac.new(signing.PLATFORM_SECRET.encode(), event, hashlib.sha256).hexdigest()
    signed = {"x-csbridge-signature": f"sha256={digest}"}
    assert (
        service.client.post("/webhooks/planhat", content=event, headers=signed).status_code == 200
    )
    assert service.client.post("/webhooks/planhat", content=event, headers=token).status_code == 401
    assert [e for _, e, _ in inbox_rows(service)] == ["zd-1", "gs-1", "ph-1"]


def test_health_ready_metrics(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").status_code == 200
    post_standard(service, signing.standard_event(), "m1")
    post_standard(service, signing.standard_event(), "m1")
    service.client.post("/webhooks/standard", content=b"{}", headers={"webhook-id": "x"})
    text = service.client.get("/metrics").text
    assert 'csbridge_webhook_events_total{result="duplicate",source="standard"} 1' in text
    assert 'csbridge_webhook_requests_total{outcome="unauthorized",source="standard"} 1' in text
    assert 'csbridge_webhook_inbox_rows{status="pending"} 1' in text
    assert "csbridge_webhook_ack_seconds_count 2" in text
    with service.store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(webhook_inbox)).scalar() == 1


def test_duplicate_after_seven_days_is_still_one_row(database_url: str) -> None:
    """F5(d): the dedupe is the inbox's unique key, so it outlives any sender's retry horizon."""
    from datetime import UTC, datetime, timedelta

    import httpx
    from conftest import serve, webhook_settings

    from csbridge.store.store import open_store
    from csbridge.webhooks.app import create_app

    store = open_store(database_url)
    later = datetime.now(UTC) + timedelta(days=7)
    body = signing.standard_event()
    try:
        for clock, ts in ((None, None), (later, int(later.timestamp()))):
            app = create_app(
                webhook_settings(), store.engine, clock=(lambda at=clock: at) if clock else None
            )
            server, thread, port = serve(app)
            response = httpx.post(
                f"http://127.0.0.1:{port}/webhooks/standard",
                content=body,
                headers=signing.standard_headers(body, "weekly", ts=ts),
            )
            server.should_exit = True
            thread.join(timeout=10)
            assert response.status_code == 200
        assert response.json() == {"accepted": 1, "new": 0}
    finally:
        store.close()


def test_hubspot_body_without_event_ids_is_kept_whole(service: Service) -> None:
    url = f"{service.url}/webhooks/hubspot"
    body = json.dumps([{"subscriptionType": "contact.creation"}]).encode()
    response = service.client.post(url, content=body, headers=signing.hubspot_headers(url, body))
    assert response.status_code == 200
    [(source, event_id, status)] = inbox_rows(service)
    assert (source, status) == ("hubspot", "pending") and event_id.startswith("sha256:")


def test_garbage_never_gets_a_5xx(service: Service) -> None:
    """A poor man's schemathesis: junk headers and bodies on every source answer < 500."""
    import random

    rng = random.Random(5)
    header_names = [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-signature",
        "x-hubspot-signature-v3",
        "x-hubspot-request-timestamp",
        "x-zendesk-webhook-signature",
        "x-zendesk-webhook-signature-timestamp",
        "x-csbridge-token",
        "x-csbridge-signature",
    ]
    junk = ["", "v1,", "v1,=", "sha256=", "9" * 40, "-1", "1e9", "é", "v1,AAAA v1,!!", "%00"]
    sources = ["standard", "hubspot", "zendesk", "gainsight", "planhat", "vitally", "x" * 300]
    for _ in range(150):
        headers = {
            name: rng.choice(junk).encode("latin-1")
            for name in rng.sample(header_names, rng.randint(0, 6))
        }
        body = rng.choice([b"", b"[]", b"{}", b"\x00\xff", b"[{}]", b"null", b'{"a":NaN}'])
        source = rng.choice(sources)
        response = service.client.post(f"/webhooks/{source}", content=body, headers=headers)
        assert response.status_code < 500, (source, headers, body, response.text)


def test_event_ids_the_database_cannot_store_fall_back_to_the_body_hash(service: Service) -> None:
    # A NUL (PostgreSQL text refuses it) or a lone surrogate (not UTF-8) in a signed
    # body's event id: stored under the body's hash, never a 5xx for the whole batch.
    token = {"x-csbridge-token": signing.PLATFORM_SECRET}
    for raw_id in ("gs-\u0000-1", "gs-\ud800-2"):
        event = json.dumps({"event_id": raw_id, "event": "score_drop", "account": "a"}).encode()
        response = service.client.post("/webhooks/gainsight", content=event, headers=token)
        assert response.status_code == 200 and response.json() == {"accepted": 1, "new": 1}
    ids = [event_id for _, event_id, _ in inbox_rows(service)]
    assert len(ids) == 2 and all(event_id.startswith("sha256:") for event_id in ids)
