"""SOQL subset: parser, evaluator and type checks, over plain dict rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from csbridge_sandbox.salesforce.soql import (
    BoolOp,
    Comparison,
    Includes,
    InList,
    Not,
    RelativeDate,
    SoqlError,
    parse,
)
from csbridge_sandbox.salesforce.soql_eval import check_types, execute

TODAY = date(2026, 11, 23)

ROWS: list[dict[str, Any]] = [
    {
        "Id": "001A", "Name": "Acme", "Amount": 100.0, "Active": True,
        "Tags": "Promoter;Reference", "Owner": {"Email": "ann@example.com"},
        "Modstamp": datetime(2026, 11, 20, 10, 0, tzinfo=UTC), "Renewal": date(2026, 12, 1),
    },
    {
        "Id": "001B", "Name": "beta corp", "Amount": 50, "Active": False,
        "Tags": "Detractor", "Owner": {"Email": "bob@example.com"},
        "Modstamp": datetime(2026, 10, 1, 0, 0, tzinfo=UTC), "Renewal": date(2027, 3, 1),
    },
    {
        "Id": "001C", "Name": "Gamma", "Amount": None, "Active": True, "Tags": None,
        "Owner": None, "Modstamp": datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "Renewal": None,
    },
]  # fmt: skip


def get(row: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = row
    for part in path:
        if value is None:
            return None
        value = value.get(part)
    return value


def ids(soql: str) -> list[str]:
    return [row["Id"] for row in execute(parse(soql), ROWS, get, TODAY)]


def test_parse_field_list_relationships_and_clauses() -> None:
    query = parse(
        "select Id, Name, Owner.Email from Account where Name = 'x' "
        "order by Name desc nulls first, Id limit 10 offset 5"
    )
    assert query.sobject == "Account"
    assert query.fields == (("Id",), ("Name",), ("Owner", "Email"))
    assert query.where == Comparison(("Name",), "=", "x")
    assert [(o.path, o.descending, o.nulls_first) for o in query.order_by] == [
        (("Name",), True, True),
        (("Id",), False, True),
    ]
    assert (query.limit, query.offset, query.count_only) == (10, 5, False)


def test_parse_literals() -> None:
    where = parse(
        "SELECT Id FROM Account WHERE Modstamp > 2024-01-02T03:04:05.000+0100 "
        "AND Renewal < 2025-01-01 AND Active = true AND Amount >= -1.5 AND Tags != null "
        "AND Modstamp = LAST_N_DAYS:30 AND Renewal > TODAY AND Name IN ('a\\'b', 'c')"
    ).where
    assert isinstance(where, BoolOp)
    values = [item.value for item in where.items if isinstance(item, Comparison)]
    assert values == [
        datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC),
        date(2025, 1, 1),
        True,
        -1.5,
        None,
        RelativeDate("LAST_N_DAYS", 30),
        RelativeDate("TODAY"),
    ]
    assert where.items[-1] == InList(("Name",), ("a'b", "c"), False)


def test_parse_not_in_includes_not_and_parentheses() -> None:
    where = parse(
        "SELECT Id FROM Account WHERE NOT (Name NOT IN ('x') OR Tags includes ('a;b', 'c'))"
    ).where
    assert where == Not(
        BoolOp(
            "OR",
            (InList(("Name",), ("x",), True), Includes(("Tags",), ("a;b", "c"), False)),
        )
    )


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT FROM Account",
        "SELECT Id Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name = 'a' AND Id = 'b' OR Id = 'c'",
        "SELECT Id FROM Account GROUP BY Name",
        "SELECT COUNT(Id) FROM Account",
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
        "SELECT Id FROM Account LIMIT x",
        "SELECT Id FROM Account WHERE Name ~ 'a'",
        "SELECT FIELDS(ALL) FROM Account",
        "SELECT Id FROM Account WHERE Modstamp > BOGUS_DAYS:3",
        "",
    ],
)
def test_unsupported_or_invalid_queries_are_malformed(soql: str) -> None:
    with pytest.raises(SoqlError) as info:
        parse(soql)
    assert info.value.code == "MALFORMED_QUERY"


def test_malformed_message_points_at_the_column() -> None:
    with pytest.raises(SoqlError) as info:
        parse("SELECT Id FROM Account GROUP BY Name")
    assert "ERROR at Row:1:Column:24" in info.value.message
    assert "unexpected token: 'GROUP'" in info.value.message


def test_where_comparisons_are_case_insensitive_and_null_aware() -> None:
    assert ids("SELECT Id FROM A WHERE Name = 'ACME'") == ["001A"]
    assert ids("SELECT Id FROM A WHERE Amount != 100") == ["001B", "001C"]
    assert ids("SELECT Id FROM A WHERE Amount = null") == ["001C"]
    assert ids("SELECT Id FROM A WHERE Amount != null") == ["001A", "001B"]
    assert ids("SELECT Id FROM A WHERE Amount > 50") == ["001A"]
    assert ids("SELECT Id FROM A WHERE Amount <= 100 AND Active = false") == ["001B"]
    assert ids("SELECT Id FROM A WHERE Name LIKE 'b%CORP'") == ["001B"]
    assert ids("SELECT Id FROM A WHERE Name LIKE 'Gamm_'") == ["001C"]
    assert ids("SELECT Id FROM A WHERE Owner.Email IN ('BOB@example.com')") == ["001B"]
    assert ids("SELECT Id FROM A WHERE Owner.Email NOT IN ('bob@example.com')") == [
        "001A",
        "001C",
    ]
    assert ids("SELECT Id FROM A WHERE NOT (Active = true)") == ["001B"]
    assert ids("SELECT Id FROM A WHERE (Name = 'Acme' OR Name = 'Gamma') AND Active = true") == [
        "001A",
        "001C",
    ]


def test_dates_datetimes_and_relative_literals() -> None:
    assert ids("SELECT Id FROM A WHERE Modstamp > 2026-11-01T00:00:00Z") == ["001A", "001C"]
    assert ids("SELECT Id FROM A WHERE Modstamp > 2026-11-20T12:00:00+02:00") == ["001C"]
    assert ids("SELECT Id FROM A WHERE Renewal < 2027-01-01") == ["001A"]
    assert ids("SELECT Id FROM A WHERE Modstamp = LAST_N_DAYS:7") == ["001A", "001C"]
    assert ids("SELECT Id FROM A WHERE Modstamp = TODAY") == ["001C"]
    assert ids("SELECT Id FROM A WHERE Modstamp < LAST_N_DAYS:7") == ["001B"]
    assert ids("SELECT Id FROM A WHERE Renewal > TODAY") == ["001A", "001B"]
    assert ids("SELECT Id FROM A WHERE Renewal = NEXT_N_DAYS:30") == ["001A"]


def test_includes_and_excludes_multipicklist_semantics() -> None:
    assert ids("SELECT Id FROM A WHERE Tags includes ('promoter')") == ["001A"]
    assert ids("SELECT Id FROM A WHERE Tags includes ('Promoter;Reference')") == ["001A"]
    assert ids("SELECT Id FROM A WHERE Tags includes ('Promoter;Detractor')") == []
    assert ids("SELECT Id FROM A WHERE Tags includes ('Promoter', 'Detractor')") == [
        "001A",
        "001B",
    ]
    assert ids("SELECT Id FROM A WHERE Tags excludes ('Promoter')") == ["001B"]


def test_order_by_nulls_and_directions_limit_offset() -> None:
    assert ids("SELECT Id FROM A ORDER BY Amount") == ["001C", "001B", "001A"]
    assert ids("SELECT Id FROM A ORDER BY Amount DESC") == ["001A", "001B", "001C"]
    assert ids("SELECT Id FROM A ORDER BY Amount ASC NULLS LAST") == ["001B", "001A", "001C"]
    assert ids("SELECT Id FROM A ORDER BY Active DESC, Name DESC") == ["001C", "001A", "001B"]
    assert ids("SELECT Id FROM A ORDER BY Name LIMIT 2") == ["001A", "001B"]
    assert ids("SELECT Id FROM A ORDER BY Name LIMIT 2 OFFSET 2") == ["001C"]
    assert ids("SELECT Id FROM A ORDER BY Owner.Email DESC NULLS LAST") == ["001B", "001A", "001C"]


def test_count_query_parses() -> None:
    query = parse("SELECT COUNT() FROM Account WHERE Active = true")
    assert query.count_only and query.fields == ()
    assert len(execute(query, ROWS, get, TODAY)) == 2


TYPES = {
    "Name": "string", "Amount": "currency", "Active": "boolean", "Tags": "multipicklist",
    "Modstamp": "datetime", "Renewal": "date",
}  # fmt: skip


@pytest.mark.parametrize(
    "where",
    [
        "Amount = '5'",
        "Name = 5",
        "Active = 'true'",
        "Modstamp > 2026-01-01",
        "Renewal > 2026-01-01T00:00:00Z",
        "Name includes ('a')",
        "Amount LIKE '5%'",
        "Name IN ('a', 3)",
    ],
)
def test_type_checks_refuse_wrong_literals(where: str) -> None:
    query = parse(f"SELECT Id FROM A WHERE {where}")
    with pytest.raises(SoqlError) as info:
        check_types(query.where, lambda path: TYPES[path[0]])
    assert info.value.code == "INVALID_FIELD"


def test_type_checks_accept_right_literals() -> None:
    query = parse(
        "SELECT Id FROM A WHERE Amount = 5 AND Name = 'x' AND Active = true AND "
        "Modstamp > 2026-01-01T00:00:00Z AND Renewal = LAST_N_DAYS:3 AND Tags includes ('a') "
        "AND Amount != null"
    )
    check_types(query.where, lambda path: TYPES[path[0]])
