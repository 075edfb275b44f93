"""The telemetry model of a workspace, as the seed declares it: how each application version
behaves (request rate, error rate, latency distribution, CPU, heartbeat), how fast rows are
ingested, and which machines exist outside the VM provider. Pure data, JSON round-trip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

# Azure documents 20 s to 3 min of ingestion latency for logs; platform metrics are similar.
DEFAULT_INGESTION_DELAY = 90.0
DEFAULT_SAMPLE_SECONDS = 60.0
DEFAULT_HISTORY = 3600.0
# The query API's documented limit on returned records (above it: a partial result).
DEFAULT_MAX_RECORDS = 500_000


@dataclass(frozen=True)
class VersionModel:
    """How one application version behaves on one machine (per sample of the cadence)."""

    application: str = ""  # "" = the machine without (known) applications
    version: str = ""
    requests_per_minute: float = 60.0
    error_rate: float = 0.002
    latency_median_ms: float = 120.0
    latency_sigma: float = 0.25  # of the log-normal distribution
    cpu_mean: float = 35.0
    cpu_sd: float = 5.0
    heartbeat: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("errorRate must be between 0 and 1")
        if self.requests_per_minute < 0 or self.latency_median_ms <= 0 or self.latency_sigma < 0:
            raise ValueError("requestsPerMinute, latencyMs must be positive")

    def matches(self, application: str, version: str) -> bool:
        return self.application.lower() == application.lower() and (
            not self.version or self.version == version
        )


@dataclass(frozen=True)
class DeclaredVersion:
    application: str
    version: str
    since: float  # epoch seconds


@dataclass(frozen=True)
class DeclaredMachine:
    """A machine that reports to the workspace without being a sandbox VM (or a VM whose
    application history the seed states directly)."""

    computer: str
    resource_id: str
    versions: tuple[DeclaredVersion, ...] = ()
    created: float | None = None  # heartbeats start here (default: history start)


@dataclass(frozen=True)
class AlertRule:
    """A log/metric alert rule evaluated on the telemetry of every machine."""

    name: str
    signal: str  # "errorRate" | "cpu" | "latencyP95" | "heartbeatMissing"
    operator: str  # "GreaterThan" | "LessThan" | ...
    threshold: float
    severity: str = "Sev2"
    window_seconds: float = 300.0
    description: str = ""


@dataclass(frozen=True)
class WorkspaceModel:
    ingestion_delay: float = DEFAULT_INGESTION_DELAY  # real-Azure seconds (scaled)
    sample_seconds: float = DEFAULT_SAMPLE_SECONDS  # cadence of generated rows (not scaled)
    history: float = DEFAULT_HISTORY  # seconds of telemetry before the seed
    max_records: int = DEFAULT_MAX_RECORDS
    default: VersionModel = field(default_factory=VersionModel)
    versions: tuple[VersionModel, ...] = ()
    machines: tuple[DeclaredMachine, ...] = ()
    alert_rules: tuple[AlertRule, ...] = ()
    seeded_at: float = 0.0

    def model_for(self, application: str, version: str) -> VersionModel:
        """The most specific model: application+version, then application, then default."""
        exact = [m for m in self.versions if m.version and m.matches(application, version)]
        loose = [m for m in self.versions if not m.version and m.matches(application, version)]
        chosen = (exact or loose or [self.default])[0]
        return replace(chosen, application=application, version=version)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkspaceModel:
        return cls(
            ingestion_delay=float(data["ingestion_delay"]),
            sample_seconds=float(data["sample_seconds"]),
            history=float(data["history"]),
            max_records=int(data["max_records"]),
            default=VersionModel(**data["default"]),
            versions=tuple(VersionModel(**v) for v in data["versions"]),
            machines=tuple(
                DeclaredMachine(
                    m["computer"],
                    m["resource_id"],
                    tuple(DeclaredVersion(**v) for v in m["versions"]),
                    m.get("created"),
                )
                for m in data["machines"]
            ),
            alert_rules=tuple(AlertRule(**r) for r in data["alert_rules"]),
            seeded_at=float(data.get("seeded_at", 0.0)),
        )


# --- the seed's YAML (camelCase) ---------------------------------------------------------------
def parse_version_model(item: Mapping[str, Any], base: VersionModel) -> VersionModel:
    latency = item.get("latencyMs", {})
    cpu = item.get("cpuPercent", {})
    if not isinstance(latency, Mapping) or not isinstance(cpu, Mapping):
        raise ValueError("latencyMs and cpuPercent are mappings ({median, sigma} / {mean, sd})")
    return VersionModel(
        application=str(item.get("application", base.application)),
        version=str(item.get("version", "")),
        requests_per_minute=float(item.get("requestsPerMinute", base.requests_per_minute)),
        error_rate=float(item.get("errorRate", base.error_rate)),
        latency_median_ms=float(latency.get("median", base.latency_median_ms)),
        latency_sigma=float(latency.get("sigma", base.latency_sigma)),
        cpu_mean=float(cpu.get("mean", base.cpu_mean)),
        cpu_sd=float(cpu.get("sd", base.cpu_sd)),
        heartbeat=bool(item.get("heartbeat", base.heartbeat)),
    )


def parse_moment(value: Any, now: float) -> float:
    """An absolute ISO 8601 time, or seconds relative to `now` (negative = in the past)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return now + float(value)
    text = str(value).strip()
    try:
        return now + float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_machine(item: Mapping[str, Any], subscription: str, now: float) -> DeclaredMachine:
    computer = str(item["computer"])
    default_id = (
        f"/subscriptions/{subscription}/resourceGroups/rg-telemetry/providers/"
        f"Microsoft.Compute/virtualMachines/{computer}"
    )
    resource_id = str(item.get("resourceId", default_id)).replace("{subscriptionId}", subscription)
    versions = tuple(
        DeclaredVersion(str(v["application"]), str(v["version"]), parse_moment(v["since"], now))
        for v in item.get("versions", ())
    )
    created = parse_moment(item["created"], now) if "created" in item else None
    return DeclaredMachine(computer, resource_id, versions, created)


def parse_alert_rule(item: Mapping[str, Any]) -> AlertRule:
    severity = str(item.get("severity", "Sev2"))
    return AlertRule(
        name=str(item["name"]),
        signal=str(item["signal"]),
        operator=str(item.get("operator", "GreaterThan")),
        threshold=float(item["threshold"]),
        severity=severity if severity.startswith("Sev") else f"Sev{severity}",
        window_seconds=float(item.get("windowSeconds", 300)),
        description=str(item.get("description", "")),
    )


def parse_workspace_model(spec: Mapping[str, Any], subscription: str, now: float) -> WorkspaceModel:
    telemetry = spec.get("telemetry") or {}
    default = parse_version_model(telemetry.get("default") or {}, VersionModel())
    versions: Sequence[Mapping[str, Any]] = telemetry.get("versions") or ()
    return WorkspaceModel(
        ingestion_delay=float(spec.get("ingestionDelaySeconds", DEFAULT_INGESTION_DELAY)),
        sample_seconds=float(spec.get("sampleSeconds", DEFAULT_SAMPLE_SECONDS)),
        history=float(spec.get("historySeconds", DEFAULT_HISTORY)),
        max_records=int(spec.get("maxRecords", DEFAULT_MAX_RECORDS)),
        default=default,
        versions=tuple(parse_version_model(v, default) for v in versions),
        machines=tuple(parse_machine(m, subscription, now) for m in spec.get("machines", ())),
        alert_rules=tuple(parse_alert_rule(r) for r in spec.get("alertRules", ())),
        seeded_at=now,
    )
