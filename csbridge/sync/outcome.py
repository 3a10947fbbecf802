"""What a run keeps of each scored batch: compact per-account results, not the facts.

`csbridge run` scores the portfolio a batch of customers at a time
(`csbridge.sync.batches`); after each batch, `Outcome.add` keeps only what the rest of
the run needs (the band counts, each account's line in its owner's book, its desired
state in each CRM, its history entry and its events), so the batch's facts, signals
and rule contexts are dropped before the next batch is read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from csbridge.mappings.fields import Crm
from csbridge.scoring.csm_load import BookEntry, book_entry
from csbridge.sync.changes import DesiredState, Notification
from csbridge.sync.cycle import Cycle, Scored, history_entries
from csbridge.sync.events import account_events
from csbridge.sync.history import History, HistoryEntry


@dataclass
class Outcome:
    """The run's scored accounts, batch after batch (see the module doc)."""

    scored: int = 0  # accounts with a score
    bands: Counter[str] = field(default_factory=Counter)
    book: list[BookEntry] = field(default_factory=list)
    desired: dict[Crm, dict[str, DesiredState]] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)
    events: list[Notification] = field(default_factory=list)

    def add(
        self,
        scored: Sequence[Scored],
        history: Mapping[str, History],
        cycle: Cycle,
        targets: Sequence[Crm],
        now: datetime,
    ) -> None:
        """Keep what the run needs of one scored batch."""
        self.scored += sum(1 for s in scored if s.result.score is not None)
        self.bands.update(s.status or "unscored" for s in scored)
        for s in scored:
            owner = s.facts.accounts[0].owner_id if s.facts.accounts else None
            self.book.append(book_entry(owner, s.signals.attributes.get("arr"), s.result))
        for target in targets:
            self.desired.setdefault(target, {}).update(cycle.desired(scored, target, now))
        self.history += history_entries(scored)
        self.events += account_events(scored, history, now)
