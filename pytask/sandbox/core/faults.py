"""Fault injection: rules from --faults FAULTS.yml (re-read when the file changes, or replaced
through PUT /_sandbox/faults) that throttle, fail, reset, slow down requests or fail their LROs.

```yaml
rules:
  - name: throttle-group-writes     # for the log; defaults to "rule-<index>"
    service: arm                    # optional: one name or a list (see below)
    method: PUT                     # optional, case-insensitive
    path: "/resourcegroups/rg-"     # optional regex, searched in the path, case-insensitive
    operation: ResourceGroups_CreateOrUpdate   # optional, the route's operation id
    # at most one trigger; none = every matching request
    nth: 2                          # only the 2nd matching request
    count: 3                        # the first 3 matching requests
    probability: 0.25               # each matching request with this probability
    inject: status                  # status | reset | delay | fail_operation
    status: 429                     # for inject: status (429, 500, 502, 503, ...)
    retry_after: 1                  # seconds, sent as Retry-After (default 1 for 429/503)
    seconds: 0.5                    # for inject: delay (then the request proceeds)
    code: InternalServerError       # error code (status) / operation error code (fail_operation)
    message: "..."
```

Services: `arm` (Resource Manager, its operation status URLs and /metadata/endpoints),
`identity` (Entra token and discovery endpoints, the DevOps OIDC token, managed identity),
`monitor` (the Log Analytics query and metrics batch data planes), `devops` (Azure DevOps REST)
and `blob` (Blob Storage: Azurite behind the gate, see providers/storage/faults.js; its
`operation` is the Blob REST operation, e.g. PutBlob, PutBlock, GetBlobProperties). A rule
without `service` matches every service but `blob`: rules written before storage faults
existed keep their meaning. Blob answers are Azure Storage's: an XML `<Error>` with
`x-ms-error-code`, default codes InternalError (500) and ServerBusy (503; Blob Storage
throttles with 503, and its SDK does not retry a 429).

Any other top-level key is a provider's own fault section, handed to handlers as
`ctx.fault_sections[key]` (e.g. `vmApplicationFailures:`, VM application installs that fail:
see pytask/sandbox/providers/compute/vm/failures.py).
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytask.sandbox.core.persistence import JsonLines

INJECTIONS = ("status", "reset", "delay", "fail_operation")
SERVICES = ("arm", "identity", "monitor", "devops", "blob")
# Where a rule without `service` applies.
DEFAULT_SERVICES = frozenset(SERVICES) - {"blob"}

_DEFAULT_CODES = {
    429: ("TooManyRequests", "The request is being throttled (injected by the sandbox)."),
    500: ("InternalServerError", "Encountered internal server error (injected by the sandbox)."),
    502: ("BadGateway", "The gateway did not receive a response (injected by the sandbox)."),
    503: ("ServiceUnavailable", "The service is unavailable (injected by the sandbox)."),
}
# Azure Storage's own codes and messages (common REST API error codes).
_STORAGE_CODES = {
    500: ("InternalError", "The server encountered an internal error. Please retry the request."),
    503: (
        "ServerBusy",
        "The server is currently unable to receive requests. Please retry your request.",
    ),
}


class FaultConfigError(ValueError):
    pass


@dataclass
class FaultRule:
    name: str
    inject: str
    services: frozenset[str] = DEFAULT_SERVICES
    method: str | None = None
    path: re.Pattern[str] | None = None
    operation: str | None = None
    nth: int | None = None
    count: int | None = None
    probability: float | None = None
    status: int = 500
    retry_after: int | None = None
    seconds: float = 0.0
    code: str | None = None
    message: str | None = None
    seen: int = 0  # matching requests so far
    fired: int = 0  # injections so far

    def matches(self, method: str, path: str, operation: str, service: str = "arm") -> bool:
        if service not in self.services:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.operation and self.operation.lower() != operation.lower():
            return False
        return not (self.path and not self.path.search(path))

    def triggers(self, rng: random.Random) -> bool:
        """Called once per matching request (counts it)."""
        self.seen += 1
        if self.nth is not None:
            return self.seen == self.nth
        if self.count is not None:
            return self.fired < self.count
        if self.probability is not None:
            return rng.random() < self.probability
        return True


@dataclass(frozen=True)
class Fault:
    """What to do to one request."""

    rule: str
    inject: str
    status: int = 500
    retry_after: int | None = None
    seconds: float = 0.0
    code: str | None = None
    message: str | None = None
    service: str = "arm"

    def error_body(self) -> dict[str, Any]:
        code, message = self.code_and_message()
        if self.service == "identity":
            # Entra answers in OAuth 2.0's error shape (RFC 6749 section 5.2).
            return {"error": "temporarily_unavailable", "error_description": message}
        return {"error": {"code": code, "message": message}}

    def code_and_message(self) -> tuple[str, str]:
        table = _STORAGE_CODES if self.service == "blob" else _DEFAULT_CODES
        fallback = table.get(500, ("InternalServerError", "Injected fault."))
        code, message = table.get(self.status, fallback)
        return self.code or code, self.message or message

    def headers(self) -> dict[str, str]:
        retry = self.retry_after
        if retry is None and self.status in (429, 503):
            retry = 1
        return {} if retry is None else {"Retry-After": str(retry)}

    def operation_error(self) -> dict[str, Any]:
        return {
            "code": self.code or "InternalOperationError",
            "message": self.message or "The operation failed (injected by the sandbox).",
        }


def _sections(document: Any) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        return {}
    return {k: v for k, v in document.items() if k != "rules"}


def parse_rules(document: Any) -> list[FaultRule]:
    if document is None:
        return []
    raw = document.get("rules", []) if isinstance(document, Mapping) else document
    if not isinstance(raw, list):
        raise FaultConfigError("faults: expected a list under 'rules'")
    return [_parse_rule(i, item) for i, item in enumerate(raw)]


def _parse_rule(index: int, item: Any) -> FaultRule:
    if not isinstance(item, Mapping):
        raise FaultConfigError(f"faults: rule {index} is not a mapping")
    inject = str(item.get("inject", "status"))
    if inject not in INJECTIONS:
        raise FaultConfigError(f"faults: rule {index}: inject must be one of {INJECTIONS}")
    triggers = [k for k in ("nth", "count", "probability") if k in item]
    if len(triggers) > 1:
        raise FaultConfigError(f"faults: rule {index}: use only one of {triggers}")
    path = item.get("path")
    return FaultRule(
        name=str(item.get("name", f"rule-{index}")),
        inject=inject,
        services=_services(index, item.get("service")),
        method=item.get("method"),
        path=re.compile(str(path), re.IGNORECASE) if path else None,
        operation=item.get("operation"),
        nth=int(item["nth"]) if "nth" in item else None,
        count=int(item["count"]) if "count" in item else None,
        probability=float(item["probability"]) if "probability" in item else None,
        status=int(item.get("status", 500)),
        retry_after=int(item["retry_after"]) if "retry_after" in item else None,
        seconds=float(item.get("seconds", 0.0)),
        code=item.get("code"),
        message=item.get("message"),
    )


def _services(index: int, value: Any) -> frozenset[str]:
    if value is None:
        return DEFAULT_SERVICES
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(n in SERVICES for n in names):
        raise FaultConfigError(f"faults: rule {index}: service must be one or more of {SERVICES}")
    return frozenset(names)


@dataclass
class FaultEngine:
    """Holds the rules; `pick` decides a request's fault and logs it to faults.jsonl."""

    log: JsonLines
    source: Path | None = None
    rules: list[FaultRule] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    # Providers' own sections of the faults document (every top-level key but `rules`).
    sections: dict[str, Any] = field(default_factory=dict)
    _mtime: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def replace(self, document: Any) -> None:
        rules = parse_rules(document)
        with self._lock:
            self.rules = rules
            self.sections = _sections(document)

    def current_sections(self) -> dict[str, Any]:
        with self._lock:
            self._reload_if_changed()
            return self.sections

    def _reload_if_changed(self) -> None:
        if self.source is None or not self.source.exists():
            return
        mtime = self.source.stat().st_mtime
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                document = yaml.safe_load(self.source.read_text(encoding="utf-8"))
                rules = parse_rules(document)
            except (yaml.YAMLError, FaultConfigError, ValueError) as error:
                # A half-edited file must not take the sandbox down: keep the last good rules.
                print(f"sandbox: faults file {self.source} ignored: {error}", file=sys.stderr)
                return
            self.rules = rules
            self.sections = _sections(document)

    def load(self) -> None:
        """Read the faults file now, raising on an invalid one (for startup)."""
        if self.source is None:
            return
        if not self.source.exists():
            raise FaultConfigError(f"faults file {self.source} does not exist")
        document = yaml.safe_load(self.source.read_text(encoding="utf-8"))
        with self._lock:
            self.rules = parse_rules(document)
            self.sections = _sections(document)
            self._mtime = self.source.stat().st_mtime

    def pick(
        self, method: str, path: str, operation: str, request_id: str, service: str = "arm"
    ) -> Fault | None:
        with self._lock:
            self._reload_if_changed()
            for rule in self.rules:
                if rule.matches(method, path, operation, service) and rule.triggers(self.rng):
                    rule.fired += 1
                    fault = Fault(
                        rule.name,
                        rule.inject,
                        rule.status,
                        rule.retry_after,
                        rule.seconds,
                        rule.code,
                        rule.message,
                        service,
                    )
                    self.log.append(
                        {
                            "time": time.time(),
                            "rule": rule.name,
                            "service": service,
                            "inject": rule.inject,
                            "status": rule.status if rule.inject == "status" else None,
                            "method": method,
                            "path": path,
                            "operation": operation,
                            "request_id": request_id,
                        }
                    )
                    return fault
        return None
