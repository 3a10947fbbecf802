"""Two runs never overlap: the second one fails at once, on SQLite and PostgreSQL; a run
that loses its PostgreSQL lock learns it at its next check; each store has its own lock."""

from __future__ import annotations

import pytest
from pg_schemas import postgres_schema, terminate_lock_holder

from csbridge.store.lock import LockLostError, RunLockedError, run_lock
from csbridge.store.store import open_store


def test_a_second_run_is_refused_while_the_first_holds_the_lock(database_url: str) -> None:
    first, second = open_store(database_url), open_store(database_url)
    try:
        with run_lock(first) as guard:
            with (
                pytest.raises(RunLockedError, match="another csbridge run") as caught,
                run_lock(second),
            ):
                pytest.fail("entered a held lock")
            assert "wait for it to finish" in str(caught.value)
            guard.verify()  # still held
        with run_lock(second):  # released when the first run ends
            pass
    finally:
        first.close()
        second.close()


def test_a_killed_lock_connection_is_lost_for_good_and_the_lock_is_free(postgres_url: str) -> None:
    """The backend holding the lock is terminated (as a failover or a proxy timeout would):
    the next `verify()` raises LockLostError, every later one too, leaving the block does
    not crash, and a second run can take the lock meanwhile."""
    first, second = open_store(postgres_url), open_store(postgres_url)
    try:
        with run_lock(first) as guard:
            guard.verify()
            assert terminate_lock_holder(postgres_url) == 1
            with pytest.raises(LockLostError, match="lost the run lock") as caught:
                guard.verify()
            assert "stopped writing" in str(caught.value) and "password" not in str(caught.value)
            with pytest.raises(LockLostError):
                guard.verify()  # sticky: no reconnect ever makes it "held" again
            with run_lock(second):  # the server released it with the connection
                pass
    finally:
        first.close()
        second.close()


def test_two_stores_in_one_database_have_their_own_locks(postgres_url: str) -> None:
    """Two schemas of one PostgreSQL database (two deployments, parallel test runs) never
    block each other; the same schema still does."""
    with postgres_schema() as other_url:
        one, other, same = (open_store(u) for u in (postgres_url, other_url, postgres_url))
        try:
            with run_lock(one), run_lock(other), pytest.raises(RunLockedError), run_lock(same):
                pytest.fail("entered a held lock")
        finally:
            for store in (one, other, same):
                store.close()
