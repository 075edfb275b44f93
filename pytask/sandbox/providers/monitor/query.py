"""Running one Log Analytics query: KQL through duckdb-kql over the generated tables, the
answer in the query API's shape (tables of typed columns and rows), errors in its shape.

Errors: the API answers 400 `BadArgumentError` with an `innererror` naming the class
(`SyntaxError`, `SemanticError`); a result larger than the record limit is truncated and
answered 200 with `error.code = PartialError` beside the tables, as the service does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import duckdb_kql

from pytask.sandbox.core import ArmError

from .errors import bad_argument
from .timespan import iso_z

# DuckDB type -> Kusto column type (the names the query API uses).
_TYPES = {
    "BOOLEAN": "bool",
    "TINYINT": "int",
    "SMALLINT": "int",
    "INTEGER": "int",
    "BIGINT": "long",
    "HUGEINT": "long",
    "UBIGINT": "long",
    "UINTEGER": "long",
    "FLOAT": "real",
    "DOUBLE": "real",
    "VARCHAR": "string",
    "UUID": "guid",
    "TIMESTAMP": "datetime",
    "TIMESTAMP WITH TIME ZONE": "datetime",
    "DATE": "datetime",
    "INTERVAL": "timespan",
    "JSON": "dynamic",
}


@dataclass
class QueryResult:
    tables: list[dict[str, Any]]
    partial: dict[str, Any] | None = None
    statistics: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tables": self.tables}
        if self.partial is not None:
            out["error"] = self.partial
        return out


def column_type(duck_type: Any) -> str:
    name = str(duck_type).upper()
    if name.startswith("DECIMAL"):
        return "decimal"
    if name.endswith("[]") or name.startswith(("STRUCT", "MAP", "LIST")):
        return "dynamic"
    return _TYPES.get(name, "string")


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # "NaN", "inf" as Kusto writes
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return iso_z(aware.timestamp())
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, dt.timedelta):
        return _timespan(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, dict, tuple)):
        return json.loads(json.dumps(value, default=str))
    return str(value)


def _timespan(span: dt.timedelta) -> str:
    """Kusto's [-][d.]hh:mm:ss[.fffffff]."""
    ticks = round(span.total_seconds() * 10_000_000)
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    seconds, fraction = divmod(ticks, 10_000_000)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}{f'{days}.' if days else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{fraction:07d}" if fraction else "")


def _syntax_error(error: duckdb_kql.KqlSyntaxError) -> ArmError:
    first = error.diagnostics[0] if error.diagnostics else None
    detail: dict[str, Any] = {"code": "SYN0002", "message": str(error)}
    if first is not None:
        detail.update(
            message=f"Query could not be parsed at line [{first.span.line},"
            f"{first.span.column}]: {first.message}",
            line=first.span.line,
            pos=first.span.column,
        )
    return bad_argument("SyntaxError", "A recognition error occurred in the query.", detail)


def run_kql(con: duckdb.DuckDBPyConnection, query: str, max_records: int) -> QueryResult:
    """Execute `query`; KQL the engine cannot run is rejected as the service rejects it."""
    try:
        relation = duckdb_kql.kql(con, query)
        columns = [
            {"name": name, "type": column_type(kind)}
            for name, kind in zip(relation.columns, relation.types, strict=True)
        ]
        rows = relation.limit(max_records + 1).fetchall()
    except duckdb_kql.KqlSyntaxError as error:
        raise _syntax_error(error) from error
    except (duckdb_kql.KqlSchemaError, duckdb_kql.KqlUnsupportedError) as error:
        detail = {"code": "SEM0100", "message": str(error)}
        raise bad_argument("SemanticError", "A semantic error occurred.", detail) from error
    except (duckdb_kql.KqlError, duckdb.Error) as error:
        detail = {"code": "SEM0001", "message": str(error).splitlines()[0]}
        raise bad_argument("SemanticError", "A semantic error occurred.", detail) from error
    partial = None
    if len(rows) > max_records:
        rows = rows[:max_records]
        partial = _truncated(max_records)
    table = {
        "name": "PrimaryResult",
        "columns": columns,
        "rows": [[_cell(v) for v in row] for row in rows],
    }
    return QueryResult([table], partial)


def _truncated(limit: int) -> dict[str, Any]:
    return {
        "code": "PartialError",
        "message": "There were some errors when processing your query.",
        "details": [
            {
                "code": "EngineError",
                "message": "Something went wrong processing your query on the server.",
                "innererror": {
                    "code": "-2133196797",
                    "message": f"Query result set has exceeded the internal record count "
                    f"limit {limit} records (E_QUERY_RESULT_SET_TOO_LARGE; see "
                    "https://aka.ms/kustoquerylimits)",
                    "severity": 2,
                    "severityName": "Error",
                },
            }
        ],
    }
