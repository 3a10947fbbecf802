"""What a run keeps besides the plan is bounded by what it writes: the ledger is read for
the records planned only (a shard's, a reaction's), and what closing ended episodes reads
is kept only for accounts with an open task (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from csbridge.scoring.rules_context import task_key
from csbridge.store.store import open_store
from csbridge.sync.ledger import read_ledger, record_fields, set_keys
from csbridge.sync.task_close import Evaluated, OpenTasks

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)
LONG = "l" * 300 + ".example.com"  # its task keys are shortened with a hash


def test_the_ledger_of_the_planned_records_is_the_whole_ledgers_part(database_url: str) -> None:
    store = open_store(database_url)
    try:
        written = {
            f"001{n:015d}": {"Health_Score__c": n, "CS_Tags__c": f"a;t{n}"} for n in range(9)
        }
        record_fields(store, "salesforce", "Account", written, NOW)
        record_fields(store, "salesforce", "Contact", {"001000000000000001": {"X": 1}}, NOW)
        set_keys(
            store, "salesforce", {"a.com:renewal:2027-01-01:d90": ("created", "00T", None)}, NOW
        )
        whole = read_ledger(store, "salesforce", "Account", "CS_Tags__c")
        planned = ["001000000000000001", "001000000000000007", "001999999999999999"]
        part = read_ledger(store, "salesforce", "Account", "CS_Tags__c", planned)
        assert part[0] == {r: whole[0][r] for r in planned if r in whole[0]}
        assert part[0]["001000000000000007"].tags == {"a", "t7"}
        assert part[1:] == whole[1:] == (frozenset({"a.com:renewal:2027-01-01:d90"}), frozenset())
        assert read_ledger(store, "salesforce", "Account", "CS_Tags__c", [])[0] == {}
    finally:
        store.close()


def evaluated(account: str, before: frozenset[tuple[str, str]] = frozenset()) -> Evaluated:
    return Evaluated(account, frozenset(), 50.0, None, frozenset(), before)


def test_closing_is_kept_for_the_accounts_with_an_open_task(database_url: str) -> None:
    store = open_store(database_url)
    started = frozenset({("churn_risk", "2026-11-02")})
    try:
        keys = {
            task_key("a.com", "silent", "2026-10-01"): ("created", "00T1", None),
            task_key("urn:crm:42", "churn_risk", "2026-11-02:d7"): ("created", "00T2", None),
            task_key("b.com", "renewal", "2027-01-01"): ("failed", None, "rejected"),
        }
        set_keys(store, "salesforce", keys, NOW)
        set_keys(
            store,
            "hubspot",
            {task_key("c.com", "expansion", "2026-11"): keys["a.com:silent:2026-10-01"]},
            NOW,
        )
        open_tasks = OpenTasks.read(store, ["salesforce", "hubspot"])
        assert open_tasks == OpenTasks(frozenset({"a.com", "urn:crm:42", "c.com"}), False)
        assert [open_tasks.may_close(evaluated(a)) for a in ("a.com", "urn:crm:42", "c.com")] == [
            True
        ] * 3
        assert not open_tasks.may_close(evaluated("b.com", started))  # its task failed
        assert not OpenTasks.read(store, ["salesforce"]).may_close(evaluated("c.com"))

        hashed = task_key(LONG, "churn_risk", "2026-11-02")
        set_keys(store, "salesforce", {hashed: ("created", "00T3", None)}, NOW)
        open_tasks = OpenTasks.read(store, ["salesforce"])
        assert open_tasks.hashed  # matched by the episode it belongs to, not by its start
        assert open_tasks.may_close(evaluated(LONG, started))
        assert not open_tasks.may_close(evaluated("d.com"))
    finally:
        store.close()
