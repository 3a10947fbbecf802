"""What a run keeps of each scored batch: compact per-account results, not the facts.

`csbridge run` scores the portfolio a batch of customers at a time
(`csbridge.sync.batches`); after each batch, `Outcome.add` keeps only what the rest of
the run needs (the band counts, the accounts per model, each account's line in its
owner's book, its touchpoint cadence (counted: few differ), its desired state in each
CRM, what closing its ended episodes reads, its history entry, its events and what its
report notes need), so the batch's facts, signals and rule contexts are dropped before
the next batch is read. The history entries, the largest of these (about 3 KB an
account) and read only once the writes are done, wait on disk in the `history` spool
(`csbridge.sync.spool`); a dry run, which stores no history, keeps none. What closing
ended episodes reads is kept only for the accounts `open_tasks` says may have an open
task, and a dry run, which writes nothing, keeps none of it, nor the events and report
notes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from csbridge.mappings.fields import Crm
from csbridge.scoring.cadence import CadenceStatus
from csbridge.scoring.csm_load import BookEntry, book_entry
from csbridge.scoring.segment_models import models_used
from csbridge.sync.changes import DesiredState, Notification
from csbridge.sync.cycle import Cycle, Scored, history_entries
from csbridge.sync.events import account_events
from csbridge.sync.history import History, HistoryEntry
from csbridge.sync.notes import NoteAccount, note_accounts
from csbridge.sync.spool import Spool
from csbridge.sync.task_close import Evaluated, OpenTasks


@dataclass
class Outcome:
    """The run's scored accounts, batch after batch (see the module doc)."""

    scored: int = 0  # accounts with a score
    bands: Counter[str] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)  # accounts per model that scored
    book: list[BookEntry] = field(default_factory=list)
    cadence: Counter[CadenceStatus | None] = field(default_factory=Counter)  # few distinct
    desired: dict[Crm, dict[str, DesiredState]] = field(default_factory=dict)
    evaluated: list[Evaluated] = field(default_factory=list)
    history: Spool[HistoryEntry] | None = None  # None: keep no history (a dry run)
    open_tasks: OpenTasks | None = None  # None: a dry run (no closing, events nor notes)
    events: list[Notification] = field(default_factory=list)
    notes: dict[Crm, list[NoteAccount]] = field(default_factory=dict)

    def close(self) -> None:
        """Drop the spooled history entries."""
        if self.history is not None:
            self.history.close()

    def add(
        self,
        scored: Sequence[Scored],
        history: Mapping[str, History],
        cycle: Cycle,
        targets: Sequence[Crm],
        now: datetime,
        note_targets: Sequence[Crm] = (),
    ) -> None:
        """Keep what the run needs of one scored batch."""
        self.scored += sum(1 for s in scored if s.result.score is not None)
        self.bands.update(s.status or "unscored" for s in scored)
        self.models.update(models_used(s.engine for s in scored))
        for s in scored:
            owner = s.facts.accounts[0].owner_id if s.facts.accounts else None
            self.book.append(book_entry(owner, s.signals.attributes.get("arr"), s.result))
        self.cadence.update(s.evaluation.cadence for s in scored)
        for target in targets:
            self.desired.setdefault(target, {}).update(cycle.desired(scored, target, now))
        if self.history is not None:
            self.history.add(history_entries(scored))
        if self.open_tasks is None:
            return
        evaluated = (Evaluated.of(s) for s in scored)
        self.evaluated += [e for e in evaluated if self.open_tasks.may_close(e)]
        self.events += account_events(scored, history, now)
        for target in note_targets:
            self.notes.setdefault(target, []).extend(note_accounts(scored, target))
