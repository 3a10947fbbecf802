"""Bulk API 2.0 ingest: create job -> PUT CSV batches (201) -> PATCH UploadComplete ->
poll (UploadComplete/InProgress -> JobComplete) -> successfulResults / failedResults /
unprocessedrecords CSV with `sf__Id`, `sf__Created`, `sf__Error` columns.

Records are processed when the upload is closed; the first poll afterwards still reports
`InProgress`, as a real job would, so clients exercise their polling loop.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from csbridge_sandbox.salesforce.http import SfHttpError, not_found, read_json, sf_json
from csbridge_sandbox.salesforce.schema import ObjectDef, make_id, normalise_id
from csbridge_sandbox.salesforce.store import SalesforceStore
from csbridge_sandbox.salesforce.values import RecordError, format_datetime

OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete"}
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
CSV_TYPE = "text/csv; charset=UTF-8"


@dataclass
class Job:
    """One ingest job and its uploaded data and results."""

    info: dict[str, Any]
    odef: ObjectDef
    data: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    success: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    polls_after_close: int = 0


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buffer.getvalue(), 200, media_type=CSV_TYPE)


def _error_text(err: RecordError) -> str:
    return f"{err.status_code}:{err.message}:{','.join(err.fields)} --"


def _process(store: SalesforceStore, job: Job) -> None:
    """Apply every uploaded row; fill the success/failed lists, or fail the whole job."""
    delimiter = DELIMITERS[job.info["columnDelimiter"]]
    rows: list[list[str]] = []
    header: list[str] = []
    for chunk in job.data:
        reader = csv.reader(io.StringIO(chunk), delimiter=delimiter)
        chunk_header = next(reader, [])
        if header and chunk_header != header:
            _fail(job, "InvalidBatch : all batches of a job must share one header")
            return
        header = chunk_header
        rows.extend(r for r in reader if r)
    job.header = header
    op, odef = job.info["operation"], job.odef
    for name in header:
        if odef.get(name) is None:
            _fail(job, f"InvalidBatch : Field name not found : {name}")
            return
    if op in {"update", "delete", "hardDelete"} and "id" not in {h.lower() for h in header}:
        _fail(job, "InvalidBatch : Field name not found : Id")
        return
    ext = job.info.get("externalIdFieldName")
    with store.lock:
        for row in rows:
            # an empty cell leaves the field as it is; only #N/A clears it (Salesforce's
            # "Valid CSV Record Rows"), so one job can update different fields per record
            data = {k: v for k, v in zip(header, row, strict=False) if v != ""}
            try:
                rid, created = _apply(store, odef, op, data, ext)
                job.success.append([rid, "true" if created else "false", *row])
            except RecordError as err:
                job.failed.append([data.get("Id", ""), _error_text(err), *row])
    job.info.update(numberRecordsProcessed=len(rows), numberRecordsFailed=len(job.failed))


def _apply(
    store: SalesforceStore, odef: ObjectDef, op: str, data: dict[str, str], ext: str | None
) -> tuple[str, bool]:
    id_key = next((k for k in data if k.lower() == "id"), None)
    if op == "insert":
        return store.create(odef, store.validate(odef, data, creating=True, from_csv=True)), True
    if op == "upsert":
        assert ext is not None
        key = data.get(ext, "")
        hits = [
            r
            for r in store.records[odef.name.lower()].values()
            if not r["IsDeleted"] and str(r.get(ext)) == key
        ]
        if len(hits) > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID", f"{ext}: more than one record found", [ext])
        if hits:
            store.check_write(str(hits[0]["Id"]))
        values = store.validate(odef, data, creating=not hits, from_csv=True)
        if hits:
            store.update(odef, hits[0], values)
            return str(hits[0]["Id"]), False
        return store.create(odef, values), True
    raw_id = data.get(id_key or "Id", "")
    record_id = normalise_id(raw_id)
    if record_id is None or not record_id.startswith(odef.key_prefix):
        raise RecordError("MALFORMED_ID", f"malformed id {raw_id}", ["Id"])
    record = store.records[odef.name.lower()].get(record_id)
    if record is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
    if record["IsDeleted"] and op != "hardDelete":
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", ["Id"])
    store.check_write(record_id, validated=op == "update")
    if op == "update":
        store.update(odef, record, store.validate(odef, data, creating=False, from_csv=True))
    elif op == "delete":
        store.delete(record)
    else:
        store.hard_delete(odef, record_id)
    return record_id, False


def _fail(job: Job, message: str) -> None:
    job.info.update(state="Failed", errorMessage=message, numberRecordsProcessed=0)


def bulk_routes(store: SalesforceStore, prefix: str) -> list[BaseRoute]:
    """Routes for `/jobs/ingest` and its sub-resources."""
    jobs: dict[str, Job] = {}
    ids = itertools.count(1)

    def job_of(request: Request) -> Job:
        job = jobs.get(str(request.path_params["job_id"]))
        if job is None:
            raise not_found()
        return job

    async def create(request: Request) -> Response:
        if request.method == "GET":
            return sf_json(
                {"done": True, "records": [j.info for j in jobs.values()], "nextRecordsUrl": None}
            )
        body = await read_json(request)
        if not isinstance(body, dict):
            raise SfHttpError(400, "INVALIDJOB", "Expected a JSON object")
        odef = store.sobject(str(body.get("object", "")))
        op = body.get("operation")
        delimiter = body.get("columnDelimiter", "COMMA")
        if odef is None:
            raise SfHttpError(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
        if op not in OPERATIONS or delimiter not in DELIMITERS:
            raise SfHttpError(400, "INVALIDJOB", f"Invalid operation or delimiter: {op}")
        ext = body.get("externalIdFieldName")
        if op == "upsert":
            fdef = odef.get(str(ext or ""))
            if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                raise SfHttpError(400, "INVALIDJOB", f"External ID was blank or invalid: {ext}")
            ext = fdef.name
        version = str(request.path_params["version"])
        job_id = make_id("750", next(ids))
        now = format_datetime(store.clock())
        info = {
            "id": job_id,
            "operation": op,
            "object": odef.name,
            "createdById": store.integration_user,
            "createdDate": now,
            "systemModstamp": now,
            "state": "Open",
            "externalIdFieldName": ext,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{version}/jobs/ingest/{job_id}/batches",
            "lineEnding": body.get("lineEnding", "LF"),
            "columnDelimiter": delimiter,
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        jobs[job_id] = Job(info, odef)
        return sf_json(info)

    async def upload(request: Request) -> Response:
        job = job_of(request)
        if job.info["state"] != "Open":
            raise SfHttpError(409, "INVALIDJOBSTATE", f"Job is in state {job.info['state']}")
        job.data.append((await request.body()).decode("utf-8"))
        return Response(status_code=201)

    async def job_info(request: Request) -> Response:
        job = job_of(request)
        if request.method == "DELETE":
            del jobs[job.info["id"]]
            return Response(status_code=204)
        if request.method == "GET":
            if job.info["state"] in {"UploadComplete", "InProgress"}:
                job.polls_after_close += 1
                if job.polls_after_close == 1:
                    job.info["state"] = "InProgress"
                else:
                    job.info["state"] = "JobComplete"
            return sf_json(job.info)
        body = await read_json(request)
        state = body.get("state") if isinstance(body, dict) else None
        if state == "UploadComplete" and job.info["state"] == "Open":
            job.info["state"] = "UploadComplete"
            with store.lock:
                _process(store, job)
        elif state == "Aborted" and job.info["state"] in {"Open", "UploadComplete", "InProgress"}:
            job.info["state"] = "Aborted"
            delimiter = DELIMITERS[job.info["columnDelimiter"]]
            for chunk in job.data:
                reader = csv.reader(io.StringIO(chunk), delimiter=delimiter)
                job.header = next(reader, [])
                job.unprocessed.extend(r for r in reader if r)
        else:
            raise SfHttpError(
                400, "INVALIDJOBSTATE", f"Cannot change state from {job.info['state']} to {state}"
            )
        job.info["systemModstamp"] = format_datetime(store.clock())
        return sf_json(job.info)

    async def results(request: Request) -> Response:
        job = job_of(request)
        kind = str(request.path_params["kind"]).lower()
        delimiter = DELIMITERS[job.info["columnDelimiter"]]
        if kind == "successfulresults":
            return _csv(["sf__Id", "sf__Created", *job.header], job.success, delimiter)
        if kind == "failedresults":
            return _csv(["sf__Id", "sf__Error", *job.header], job.failed, delimiter)
        if kind == "unprocessedrecords":
            return _csv(job.header, job.unprocessed, delimiter)
        raise not_found()

    base = prefix + "/jobs/ingest"
    return [
        Route(base, create, methods=["GET", "POST"]),
        Route(base + "/", create, methods=["GET", "POST"]),
        Route(base + "/{job_id}", job_info, methods=["GET", "PATCH", "DELETE"]),
        Route(base + "/{job_id}/", job_info, methods=["GET", "PATCH", "DELETE"]),
        Route(base + "/{job_id}/batches", upload, methods=["PUT"]),
        Route(base + "/{job_id}/batches/", upload, methods=["PUT"]),
        Route(base + "/{job_id}/{kind}", results),
        Route(base + "/{job_id}/{kind}/", results),
    ]
