"""Two runs never overlap: the second one fails at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from csbridge.store.lock import RunLockedError, run_lock
from csbridge.store.store import open_store


def test_a_second_run_is_refused_while_the_first_holds_the_lock(database_url: str) -> None:
    first, second = open_store(database_url), open_store(database_url)
    try:
        with run_lock(first):
            with (
                pytest.raises(RunLockedError, match="another csbridge run") as caught,
                run_lock(second),
            ):
                pytest.fail("entered a held lock")
            assert "wait for it to finish" in str(caught.value)
        with run_lock(second):  # released when the first run ends
            pass
    finally:
        first.close()
        second.close()
