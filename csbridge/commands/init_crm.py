"""`csbridge init-crm`: create, idempotently, the CRM fields csbridge writes into.

For each CRM of `crm.targets` (or `--target`): the wanted fields come from the field
mapping, the scoring model's bands and segments and the rules' owned tags
(`csbridge.connectors.crm_schema`); what exists is read from the CRM; each missing group or
field is created and a picklist lacking values gets them added. A rerun finds
everything in place and writes nothing. `--dry-run` shows the steps without writing.

Exit 2 when a Salesforce org refuses to create fields through the API (the setup steps
are printed instead) or when a field exists with another type or cannot be edited.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

from csbridge.config import Settings, load_config
from csbridge.connectors.crm_schema import (
    ExistingField,
    Step,
    WantedSchema,
    diff,
    summary,
    wanted_schema,
)
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.schema import HubspotSchema
from csbridge.connectors.salesforce.schema import (
    SalesforceSchema,
    SetupRefusedError,
    open_client,
    setup_steps,
)
from csbridge.errors import CsbridgeError
from csbridge.http.client import ApiClient, CallAccounting
from csbridge.mappings.fields import Crm
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.segment_models import load_segment_models
from csbridge.sync.cycle import model_mapping
from csbridge.tables import format_table

FLS_NOTE = (
    "salesforce: fields created through the API are visible to no profile until "
    "field-level security grants them; give the integration user's profile or permission "
    "set Read and Edit on each (Object Manager → field → Set Field-Level Security)."
)


WRITE_METHODS = ("POST", "PATCH")
"""The schema connectors label each call "<METHOD> <path>"; these are their writes."""


class CrmSchema(Protocol):
    """The schema side of a CRM connector, as this command drives it."""

    client: ApiClient

    def groups(self, objects: list[str]) -> list[tuple[str, str]]: ...

    def fields(self, objects: list[str]) -> list[ExistingField]: ...

    def apply(self, step: Step) -> None: ...


@dataclass
class TargetResult:
    """One CRM's steps and what became of each: "" (nothing to do), dry-run, done,
    refused, or unverified (written, but not seen on reading back)."""

    target: str
    steps: list[Step]
    results: list[str]
    refused: SetupRefusedError | None = None
    notes: list[str] = field(default_factory=list)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init-crm",
        help="create the CRM fields and properties csbridge writes (idempotent)",
        description=(
            "Create, in each CRM of crm.targets, the fields csbridge writes: health "
            "fields, tags, the task key field and (HubSpot) the property group. "
            "A rerun changes nothing; a new owned tag adds one picklist value."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument("--dry-run", action="store_true", help="show the steps, write nothing")
    parser.add_argument(
        "--target", choices=("salesforce", "hubspot"), help="one CRM (default: crm.targets)"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Plan and (unless --dry-run) create; exit 2 on a refusal or a conflict."""
    settings = load_config(args.config)
    targets: list[Crm] = [args.target] if args.target else list(settings.crm.targets)
    if not targets:
        raise CsbridgeError("no CRM target: set crm.targets in the config or pass --target")
    accounting = CallAccounting()
    results = [init_target(settings, t, args.dry_run, accounting) for t in targets]
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(results, args.dry_run, accounting), indent=2) + "\n")
    else:
        sys.stdout.write(render(results, args.dry_run))
    failure = outcome_error(results)
    if failure is not None:
        raise failure
    return 0


def outcome_error(results: list[TargetResult]) -> CsbridgeError | None:
    """The error to exit with: a refusal, a conflict, or a field not seen after creating it."""
    refused = next((r.refused for r in results if r.refused), None)
    if refused is not None:
        return refused
    conflicts = sum(summary(r.steps)["conflict"] for r in results)
    if conflicts:
        return CsbridgeError(
            f"{conflicts} field(s) conflict with what csbridge writes (see the table); "
            "fix them in the CRM or point the mapping's api_name elsewhere, then rerun"
        )
    unseen = [
        f"{r.target} {step.object}.{step.name}"
        for r in results
        for step, outcome in zip(r.steps, r.results, strict=True)
        if outcome == "unverified"
    ]
    if unseen:
        return CsbridgeError(
            f"created but not visible when read back: {', '.join(unseen)}; grant the "
            "integration user Read and Edit on them (field-level security) and rerun"
        )
    return None


def wanted_for(settings: Settings, target: Crm) -> WantedSchema:
    """What csbridge needs in `target`, from the mapping, the model and the rules."""
    models = [
        e.model for e in load_segment_models(settings.model, settings.model_per_segment).engines()
    ]
    model = models[0]
    mapping = model_mapping(target, getattr(settings.crm, target).mapping, *models)
    segments = None if model.segments is None else model.segments.segment_names()
    rules = load_rules(settings.rules)
    bands = list(dict.fromkeys(b.name for m in models for b in m.bands))
    return wanted_schema(mapping, bands, segments, rules.owned_tags)


def connect(
    settings: Settings, target: Crm, wanted: WantedSchema, accounting: CallAccounting
) -> CrmSchema:
    """The schema connector for `target` (logged in); its `client` is closed by the caller."""
    if target == "hubspot":
        if settings.sources.hubspot is None:
            raise CsbridgeError("sources.hubspot: missing; init-crm connects to HubSpot with it")
        client = hubspot_client(settings.sources.hubspot, settings.http, accounting)
        return HubspotSchema(client, wanted.groups[0][1])
    source = settings.sources.salesforce
    if source is None:
        raise CsbridgeError("sources.salesforce: missing; init-crm connects to Salesforce with it")
    return SalesforceSchema(open_client(source, settings.http, accounting), source.api_version)


def init_target(
    settings: Settings, target: Crm, dry_run: bool, accounting: CallAccounting
) -> TargetResult:
    """Read, diff and (unless `dry_run`) create in one CRM; a refusal is kept, not raised."""
    wanted = wanted_for(settings, target)
    schema = connect(settings, target, wanted, accounting)
    objects = list(dict.fromkeys(f.object for f in wanted.fields))
    try:
        steps = diff(wanted, schema.groups(objects), schema.fields(objects))
        todo = [s.action in ("create", "update") for s in steps]
        result = TargetResult(target, steps, ["dry-run" if t and dry_run else "" for t in todo])
        if dry_run or not any(todo):
            result.notes += _notes(result)
            return result
        for i, step in enumerate(steps):
            if not todo[i] or result.refused:
                result.results[i] = "refused" if todo[i] else ""
                continue
            try:
                schema.apply(step)
                result.results[i] = "done"
            except SetupRefusedError as exc:
                result.refused, result.results[i] = exc, "refused"
        after = diff(wanted, schema.groups(objects), schema.fields(objects))
        for i, again in enumerate(after):
            if result.results[i] == "done" and again.action != "ok":
                result.results[i] = "unverified"
        result.notes += _notes(result)
        return result
    finally:
        schema.client.close()


def _notes(result: TargetResult) -> list[str]:
    created = any(
        step.action == "create" and step.field is not None and outcome in ("done", "dry-run")
        for step, outcome in zip(result.steps, result.results, strict=True)
    )
    return [FLS_NOTE] if result.target == "salesforce" and created else []


def _rows(results: list[TargetResult]) -> list[dict[str, Any]]:
    return [
        {
            "target": r.target,
            "object": step.object,
            "field": step.name if step.field else f"{step.name} (group)",
            "action": step.action,
            "result": outcome,
            "detail": step.reason,
        }
        for r in results
        for step, outcome in zip(r.steps, r.results, strict=True)
    ]


def summary_line(results: list[TargetResult], dry_run: bool) -> str:
    """One line: how many items were (or would be) created and updated, how many are ok."""
    t = summary([s for r in results for s in r.steps])
    pairs = [(s.action, x) for r in results for s, x in zip(r.steps, r.results, strict=True)]
    if dry_run:
        head = f"init-crm (dry run, nothing written): {t['create']} to create, "
        head += f"{t['update']} to update"
    else:
        done = {a: sum(p == (a, "done") for p in pairs) for a in ("create", "update")}
        head = f"init-crm: {done['create']} created, {done['update']} updated"
        refused = sum(x == "refused" for _, x in pairs)
        head += f", {refused} refused" if refused else ""
    return f"{head}, {t['ok']} ok, {t['conflict']} conflicts"


def render(results: list[TargetResult], dry_run: bool) -> str:
    """The steps as a table, the summary line, notes and any Salesforce setup steps."""
    rows = _rows(results)
    columns = ("target", "object", "field", "action", "result", "detail")
    table = format_table(columns, [[row[c] or "-" for c in columns] for row in rows])
    lines = [table.rstrip("\n"), summary_line(results, dry_run)]
    for r in results:
        lines += r.notes
        if r.refused is not None:
            lines += ["", "Salesforce setup steps (create these by hand):", setup_steps(r.steps)]
    return "\n".join(lines) + "\n"


def to_json(
    results: list[TargetResult], dry_run: bool, accounting: CallAccounting
) -> dict[str, Any]:
    """The steps, totals, notes, setup steps and API calls per system, as a document."""
    calls: dict[str, int] = {}
    writes: dict[str, int] = {}
    for row in accounting.rows():
        calls[row.system] = calls.get(row.system, 0) + row.count
        if row.endpoint.split(" ")[0] in WRITE_METHODS:
            writes[row.system] = writes.get(row.system, 0) + row.count
    return {
        "dry_run": dry_run,
        "steps": _rows(results),
        "summary": summary([s for r in results for s in r.steps]),
        "line": summary_line(results, dry_run),
        "notes": [note for r in results for note in r.notes],
        "setup_steps": {r.target: setup_steps(r.steps) for r in results if r.refused is not None},
        "api_calls": calls,
        "write_calls": {r.target: writes.get(r.target, 0) for r in results},
    }
