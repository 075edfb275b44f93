"""Health analysis for HealthGate: rules and statistics as pure functions, no I/O.

Nothing here imports Azure or reads a clock: the task queries Azure Monitor, hands the rows
in, and writes out what comes back. Modules, one job each:

- normal, ranks, mannwhitney, shift, proportions: the statistics (no scipy at run time)
- threshold, rules, model: rules that classify a measurement and explain why
- presets, kql: built-in checks and the `let` block that scopes a KQL query
- evaluate: query rows -> CheckResult
- runcontrol: the Argo-style run state machine and the final verdict
- render: sparklines, markdown summary, JSON report model
"""

from .evaluate import Measurement, evaluate_check, measurement_from_rows, unavailable_result
from .model import CheckResult, Classification, Direction, Explanation, NoDataPolicy
from .presets import PRESETS, SCOPE_PARAMETERS, CheckSpec, resolve_check
from .proportions import Counts
from .rules import BaselineRule, ThresholdRule, rule_from_mapping
from .runcontrol import (
    RunPolicy,
    RunState,
    RunStatus,
    RunVerdict,
    Verdict,
    advance,
    conclude,
    is_finished,
    start,
)
from .threshold import Threshold, parse_threshold

__all__ = [
    "PRESETS",
    "SCOPE_PARAMETERS",
    "BaselineRule",
    "CheckResult",
    "CheckSpec",
    "Classification",
    "Counts",
    "Direction",
    "Explanation",
    "Measurement",
    "NoDataPolicy",
    "RunPolicy",
    "RunState",
    "RunStatus",
    "RunVerdict",
    "Threshold",
    "ThresholdRule",
    "Verdict",
    "advance",
    "conclude",
    "evaluate_check",
    "is_finished",
    "measurement_from_rows",
    "parse_threshold",
    "resolve_check",
    "rule_from_mapping",
    "start",
    "unavailable_result",
]
