"""Built-in checks, so a pipeline author can write `checks: [heartbeat, errorRate]`, and the
resolution of a check definition (preset name, or mapping with overrides) into a CheckSpec.

Preset queries use the Azure Monitor standard tables and refer to the scope only through
the `let` names in SCOPE_PARAMETERS, which the task declares in front of the query
(see kql.with_parameters). What a query returns is its `shape`:
- value:  one row with a numeric column `value`
- series: rows of `TimeGenerated`, `value` in time order
- counts: one row with `events` and `total` (a rate: events / total)
For a baseline rule the task runs the same query a second time with the baseline's scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from .model import Direction, NoDataPolicy
from .rules import BaselineRule, Rule, ThresholdRule, rule_from_mapping
from .threshold import parse_threshold

Shape = Literal["value", "series", "counts"]
SourceKind = Literal["kql", "metric", "alerts"]

# Declared by the task for every KQL check.
SCOPE_PARAMETERS = (
    "windowStart",  # datetime: start of the evaluated window (deployment start, or baseline)
    "windowEnd",  # datetime: end of the evaluated window (now minus nothing; data may lag)
    "computers",  # dynamic: computer names of the targets (VM osProfile / instance names)
    "resourceIds",  # dynamic: lower-case ARM ids of the targets
)

HEARTBEAT_QUERY = """\
let heartbeatWindow = 5m;
Heartbeat
| where TimeGenerated > windowEnd - heartbeatWindow and TimeGenerated <= windowEnd
| where Computer in~ (computers)
| summarize reporting = dcount(Computer)
| extend value = array_length(computers) - reporting
| project value"""

ERROR_RATE_QUERY = """\
AppRequests
| where TimeGenerated >= windowStart and TimeGenerated < windowEnd
| where AppRoleInstance in~ (computers)
| summarize events = countif(Success == false), total = count()"""

LATENCY_P95_QUERY = """\
AppRequests
| where TimeGenerated >= windowStart and TimeGenerated < windowEnd
| where AppRoleInstance in~ (computers)
| summarize value = percentile(DurationMs, 95) by TimeGenerated = bin(TimeGenerated, 1m)
| order by TimeGenerated asc"""

CPU_QUERY = """\
Perf
| where TimeGenerated >= windowStart and TimeGenerated < windowEnd
| where Computer in~ (computers)
| where ObjectName == "Processor" and CounterName == "% Processor Time"
| summarize value = avg(CounterValue) by TimeGenerated = bin(TimeGenerated, 1m)
| order by TimeGenerated asc"""


@dataclass(frozen=True)
class CheckSpec:
    name: str
    source: SourceKind
    rule: Rule
    critical: bool = False
    query: str | None = None  # kql sources
    shape: Shape = "value"
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


PRESETS: Mapping[str, CheckSpec] = MappingProxyType(
    {
        "heartbeat": CheckSpec(
            name="heartbeat",
            source="kql",
            description="every target sent a heartbeat in the last 5 minutes of the window",
            query=HEARTBEAT_QUERY,
            shape="value",
            rule=ThresholdRule(parse_threshold("<= 0"), "last", NoDataPolicy.FAIL),
            critical=True,
        ),
        "errorRate": CheckSpec(
            name="errorRate",
            source="kql",
            description="failed request rate does not rise against the baseline",
            query=ERROR_RATE_QUERY,
            shape="counts",
            rule=BaselineRule(
                kind="rate",
                direction=Direction.INCREASE,
                alpha=0.05,
                min_effect=0.005,  # half a percentage point
                effect_scale="absolute",
                min_samples=50,
            ),
        ),
        "latencyP95": CheckSpec(
            name="latencyP95",
            source="kql",
            description="per-minute p95 request duration does not rise against the baseline",
            query=LATENCY_P95_QUERY,
            shape="series",
            rule=BaselineRule(
                kind="continuous",
                direction=Direction.INCREASE,
                alpha=0.05,
                min_effect=0.10,  # 10 % of the baseline median
                effect_scale="relative",
                min_samples=5,
            ),
        ),
        "cpu": CheckSpec(
            name="cpu",
            source="kql",
            description="mean per-minute CPU of the targets stays under 90 %",
            query=CPU_QUERY,
            shape="series",
            rule=ThresholdRule(parse_threshold("< 90"), "mean", NoDataPolicy.INCONCLUSIVE),
        ),
    }
)

_CHECK_KEYS = frozenset({"name", "preset", "source", "rule", "critical", "query", "shape"})


def _source_changes(item: Mapping[str, Any]) -> dict[str, Any]:
    """Fields set by `source:` (a kind, or a mapping with kind and options) and its shorthands
    `query:` / `shape:` at the check's top level."""
    changes: dict[str, Any] = {}
    if "source" in item:
        source = item["source"]
        options = {"kind": source} if isinstance(source, str) else dict(source)
        kind = options.pop("kind", None)
        if kind not in ("kql", "metric", "alerts"):
            raise ValueError("source kind must be one of kql, metric, alerts")
        changes["source"] = kind
        changes["query"] = options.pop("query", None)
        changes["shape"] = options.pop("shape", "value")
        changes["options"] = MappingProxyType(options)
    for key in ("query", "shape"):
        if key in item:
            changes[key] = item[key]
    if changes.get("shape", "value") not in ("value", "series", "counts"):
        raise ValueError("shape must be value, series or counts")
    return changes


def resolve_check(item: str | Mapping[str, Any]) -> CheckSpec:
    """A preset by name, or a mapping: {name, preset?, source?, rule?, critical?, ...}.

    With `preset`, the mapping overrides the preset's fields; without, `source` and `rule`
    are required. Unknown keys are errors, so a typo never silently weakens a gate.
    """
    if isinstance(item, str):
        if item not in PRESETS:
            raise ValueError(f"unknown preset {item!r}; presets: {', '.join(PRESETS)}")
        return PRESETS[item]
    unknown = sorted(set(item) - _CHECK_KEYS)
    if unknown:
        raise ValueError(f"unknown check key(s) {unknown}; allowed: {sorted(_CHECK_KEYS)}")
    base = resolve_check(str(item["preset"])) if "preset" in item else None
    if base is None and ("source" not in item or "rule" not in item):
        raise ValueError("a check without a preset needs a source and a rule")
    name = str(item.get("name") or (base.name if base else ""))
    if not name:
        raise ValueError("a check needs a name")
    changes: dict[str, Any] = {"name": name, **_source_changes(item)}
    if "rule" in item:
        changes["rule"] = rule_from_mapping(item["rule"])
    if "critical" in item:
        changes["critical"] = bool(item["critical"])
    spec = replace(base, **changes) if base else CheckSpec(**changes)
    if spec.source == "kql" and not spec.query:
        raise ValueError(f"check {name!r}: a kql source needs a query")
    return spec
