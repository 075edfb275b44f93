"""Everything a provider handler gets about one request."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import json5

from pytask.sandbox.core.clock import Clock
from pytask.sandbox.core.errors import ArmError, invalid_request_content
from pytask.sandbox.core.etag import check_preconditions
from pytask.sandbox.core.lro import Operation, OperationKind
from pytask.sandbox.core.paging import page
from pytask.sandbox.core.persistence import JsonLines
from pytask.sandbox.core.world import Effect, World

if TYPE_CHECKING:
    from pytask.sandbox.core.provider import Route


class CaseInsensitive(Mapping[str, str]):
    """A read-only mapping with case-insensitive keys (query and headers, as ARM treats them)."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._data: dict[str, tuple[str, str]] = {}
        for key, value in pairs:
            self._data.setdefault(key.lower(), (key, value))

    def __getitem__(self, key: str) -> str:
        return self._data[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data


@dataclass(frozen=True)
class Principal:
    """Who called: the verified claims of the bearer token."""

    object_id: str
    app_id: str
    tenant_id: str
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class RequestContext:
    method: str
    path: str  # as sent (case preserved), without the query
    params: dict[str, str]  # path placeholders, values as sent
    query: CaseInsensitive
    headers: CaseInsensitive
    body: bytes
    base_url: str  # e.g. https://127.0.0.1:8443 (no trailing slash)
    clock: Clock
    world: World
    route: Route
    namespace: str
    principal: Principal | None = None
    page_size: int = 100
    # Set by the fault engine when a rule says this request's LRO must fail.
    fail_operation: dict[str, Any] | None = None
    # Providers' own sections of the faults file (see faults.py), e.g. vmApplicationFailures.
    fault_sections: Mapping[str, Any] = field(default_factory=dict)
    # operations.jsonl: every LRO's scheduled start and duration, so that benchmarks can tell
    # the time Azure itself takes from the time a client spends around it.
    operation_log: JsonLines | None = None

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "")

    @property
    def subscription_id(self) -> str:
        return self.params.get("subscriptionId", self.world.subscription_id)

    def json(self) -> Any:
        """The request body as JSON; malformed JSON is ARM's 400 InvalidRequestContent."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _lenient_json(self.body, exc)

    def json_object(self) -> dict[str, Any]:
        """The body, which must be a JSON object (ARM: InvalidRequestContent otherwise)."""
        data = self.json()
        if not isinstance(data, dict):
            raise invalid_request_content("the request body must be a JSON object")
        return data

    def check_preconditions(self, current_etag: str | None, exists: bool) -> None:
        check_preconditions(self.headers, current_etag, exists)

    def page(self, items: list[Any]) -> dict[str, Any]:
        return page(items, self.base_url, self.path, self.query, self.page_size)

    def start_operation(
        self,
        duration: float,
        *,
        location: str,
        kind: OperationKind = OperationKind.ASYNC_OPERATION,
        on_success: tuple[str, dict[str, Any]] | None = None,
        on_failure: tuple[str, dict[str, Any]] | None = None,
        result: Any = None,
        status_segment: str = "operations",
        result_segment: str = "operationResults",
        subscription_level: bool = False,
        poll_interval: float = 15.0,
        done_status: int = 204,
    ) -> tuple[Operation, dict[str, str]]:
        """Start an LRO lasting `duration` real-Azure seconds (scaled by the clock).

        `on_success` / `on_failure` name effects of this provider (`(effect_name, args)`) that
        run when the operation ends. Returns the operation and the polling headers to send.
        A fault rule may turn the outcome into Failed (with `on_failure` applied instead).
        """
        now = self.clock.now()
        op = Operation.new(
            namespace=self.namespace,
            location=location.replace(" ", "").lower(),
            api_version=self.api_version,
            start=now,
            duration=self.clock.scaled(duration),
            result=result,
            status_segment=status_segment,
            result_segment=result_segment,
            subscription_level=subscription_level,
            subscription_id=self.subscription_id,
            done_status=done_status,
        )
        if self.fail_operation is not None:
            op.outcome = "Failed"
            op.error = {
                "code": self.fail_operation.get("code", "InternalOperationError"),
                "message": self.fail_operation.get(
                    "message", "The operation failed (injected by the sandbox fault rules)."
                ),
            }
        effect = on_success if op.outcome == "Succeeded" else on_failure
        with self.world.lock:
            self.world.operations[op.id] = op.to_json()
            if effect is not None:
                self.world.schedule(Effect(op.end, self.namespace, effect[0], dict(effect[1])))
            self.world.touch()
            if self.operation_log is not None:
                record = op.timing(duration, self.route.operation, self.method, self.path)
                self.operation_log.append(record)
        return op, op.headers(self.base_url, kind, self.clock.retry_after(poll_interval))

    def require(self, condition: bool, code: str, message: str, target: str | None = None) -> None:
        """Raise a 400 ArmError unless `condition` holds (body validation)."""
        if not condition:
            raise ArmError(400, code, message, target)


def _lenient_json(body: bytes, strict_error: Exception) -> Any:
    """ARM reads bodies with a lenient JSON reader: unquoted property names, comments,
    trailing commas. `az deployment group create` relies on it (it splices the template file
    in as `template:{…}` to keep its text as written). Still malformed: 400, strict message."""
    try:
        return json5.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise invalid_request_content(str(strict_error)) from strict_error
