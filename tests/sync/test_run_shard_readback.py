"""A sharded run asks each CRM only for its own customers' open tasks: after a whole run
against the sandbox created tasks in both CRMs, shards 1/2 and 2/2 together ask for every
open key once, each only for keys naming one of its customers (real SDKs over real HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from csbridge.cli import main
from csbridge.config import Settings, load_config
from csbridge.connectors.protocol import CrmWriter, TaskState
from csbridge.http.client import CallAccounting
from csbridge.mappings.fields import Crm
from csbridge.scoring.rules_context import key_account
from csbridge.store.store import open_store
from csbridge.sync.pull import pull
from csbridge.sync.run import default_writer, run_sync
from csbridge.sync.shard import Shard
from csbridge.sync.task_readback import open_task_keys
from csbridge_sandbox.runner import run_sandbox

SHARDS = (Shard(1, 2), Shard(2, 2))


def test_each_shard_asks_the_crm_only_for_its_customers_open_tasks(tmp_path: Path) -> None:
    with run_sandbox(port_base=0, accounts=16, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp_path / "csbridge.yaml")
        assert main(["init-crm", "--config", str(config)]) == 0
        settings = load_config(config)
        now = sandbox.world.now
        store = open_store(settings.database_url)
        try:
            assert pull(settings, store).ok
            assert run_sync(settings, store, now, pull_first=False).ok  # creates the tasks
            targets = list(settings.crm.targets)
            open_keys = {t: set(open_task_keys(store, t)) for t in targets}
            assert all(open_keys.values()), open_keys  # both CRMs have open tasks
            asked: dict[Shard, dict[str, list[str]]] = {}
            for shard in SHARDS:
                asked[shard] = {t: [] for t in targets}
                factory = recording(asked[shard])
                report = run_sync(
                    settings, store, now, pull_first=False, writer_factory=factory, shard=shard
                )
                assert report.ok, report.as_dict()
        finally:
            store.close()
    for target in targets:
        one, two = (set(asked[shard][target]) for shard in SHARDS)
        assert one and two  # 16 customers: both shards have open tasks
        assert one | two == open_keys[target] and not one & two
        for shard in SHARDS:
            accounts = {key_account(key) for key in asked[shard][target]}
            assert None not in accounts and all(shard.owns(a) for a in accounts if a)


def recording(
    asked: dict[str, list[str]],
) -> Callable[[Crm, Settings, CallAccounting], CrmWriter]:
    """A writer factory whose writers note each key they read back (`task_states`)."""

    def factory(target: Crm, settings: Settings, accounting: CallAccounting) -> CrmWriter:
        writer = default_writer(target, settings, accounting)
        read = writer.task_states

        def task_states(keys: Sequence[str]) -> dict[str, TaskState]:
            asked[target] += keys
            return read(keys)

        writer.task_states = task_states  # type: ignore[method-assign]
        return writer

    return factory
