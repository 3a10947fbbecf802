"""Outbound events: signed Standard Webhooks for what changed in a run, and the run itself.

So that CS platforms and RevOps alerting learn what csbridge saw, a run posts (to
`notifications.webhook_url`, signed like the rule notifications, `csbridge.sync.notify`)
the kinds listed in `notifications.events`:

| type | key (sent once: recorded in the ledger, target `events`) |
| --- | --- |
| `csbridge.band_changed` | `{account}:band_changed:{day}:{before}>{after}` |
| `csbridge.segment_changed` | `{account}:segment_changed:{day}:{before}>{after}` |
| `csbridge.churn_risk_opened` / `_closed` | `{account}:churn_risk_opened:{episode start}` |
| `csbridge.run_finished` / `run_failed` / `run_stopped` | `run:{run id}:{kind}` |

Run events carry the run report's counts in `data.details`; a failed or stopped run is
also posted to Slack when a Slack webhook is configured. `account_events` is pure; a
rerun computes the same keys, and the ledger keeps each from being sent twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog

from csbridge.store.store import Store
from csbridge.sync import ledger
from csbridge.sync.changes import Notification
from csbridge.sync.cycle import Scored
from csbridge.sync.history import History
from csbridge.sync.notify import SLACK, WEBHOOK, Notifier

EVENTS_TARGET = "events"
log = structlog.get_logger("csbridge.events")


def _event(key: str, account: str, kind: str, subject: str, **details: Any) -> Notification:
    return Notification(key, account, kind, subject, details=details)


def account_events(
    scored: Sequence[Scored], history: Mapping[str, History], now: datetime
) -> list[Notification]:
    """Band and segment changes against the previous run, churn-risk episodes opened and
    closed by this one, for every scored account."""
    day = now.date().isoformat()
    out: list[Notification] = []
    for item in scored:
        account, ctx = item.facts.key, item.ctx
        score = None if item.result.score is None else round(item.result.score, 1)
        before, after = ctx.previous_status, item.status
        if before and after and before != after:
            key = f"{account}:band_changed:{day}:{before}>{after}"
            subject = f"{account}: health band {before} → {after} (health {score})"
            out.append(
                _event(
                    key, account, "band_changed", subject, before=before, after=after, score=score
                )
            )
        past = history.get(account)
        seg_before, seg_after = past.previous_segment if past else None, item.result.segment
        if seg_before and seg_after and seg_before != seg_after:
            key = f"{account}:segment_changed:{day}:{seg_before}>{seg_after}"
            subject = f"{account}: segment {seg_before} → {seg_after}"
            out.append(
                _event(key, account, "segment_changed", subject, before=seg_before, after=seg_after)
            )
        opened = item.evaluation.episodes.get("churn_risk")
        running = ctx.episodes.get("churn_risk")
        if opened is not None and running is None:
            key = f"{account}:churn_risk_opened:{opened}"
            subject = f"{account}: churn risk opened (health {score})"
            out.append(_event(key, account, "churn_risk_opened", subject, started_on=str(opened)))
        if running is not None and opened is None:
            key = f"{account}:churn_risk_closed:{running}"
            subject = f"{account}: churn risk closed (health {score})"
            out.append(_event(key, account, "churn_risk_closed", subject, started_on=str(running)))
    return out


def run_event(run_id: str, report: Mapping[str, Any]) -> Notification:
    """The run's own event: finished, failed (not every write landed, or it crashed) or
    stopped (a quota or a lost lock), with the report's counts."""
    crm = report.get("crm", {})
    reasons = [report.get("stopped"), report.get("pull", {}).get("stopped")]
    reasons += [c.get("stopped") for c in crm.values()]
    stopped = next((str(r) for r in reasons if r), None)
    kind = "run_stopped" if stopped else "run_finished" if report["ok"] else "run_failed"
    counts = {
        "accounts_scored": report.get("accounts_scored", 0),
        "bands": report.get("bands", {}),
        "crm": {
            target: {
                k: len(v) if isinstance(v, list) else v
                for k, v in c.items()
                if k != "planned" and not isinstance(v, dict)
            }
            for target, c in crm.items()
        },
        "stopped": stopped,
    }
    subject = f"csbridge run {run_id}: {kind.removeprefix('run_')}"
    return _event(f"run:{run_id}:{kind}", "all accounts", kind, subject, **counts)


def send_events(
    events: Sequence[Notification],
    notifier: object,
    store: Store,
    kinds: Collection[str],
    now: datetime,
) -> dict[str, int]:
    """Post each event of a configured kind once (webhook; failed and stopped runs also
    to Slack) through the run's `Notifier` and record it; counts sent and failed. Failed
    ones go again next run. Nothing without a Notifier whose webhook is configured."""
    wanted = [e for e in events if e.rule in kinds]
    if not isinstance(notifier, Notifier) or not wanted or not notifier.has(WEBHOOK):
        return {}
    done = ledger.key_states(store, EVENTS_TARGET, [e.key for e in wanted])
    sent = failed = 0
    for note in wanted:
        if done.get(note.key, ("",))[0] == "sent":
            continue
        channels = (WEBHOOK, SLACK) if note.rule in ("run_failed", "run_stopped") else (WEBHOOK,)
        result = notifier.send(note, channels)
        if result.ok:
            ledger.set_keys(store, EVENTS_TARGET, {note.key: ("sent", None, None)}, now)
            sent += 1
        else:
            failed += 1
            log.warning("events.failed", key=note.key, reason=result.error)
    return {"sent": sent, "failed": failed}
