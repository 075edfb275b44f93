"""The sandbox core in-process: routing, paging, etags, operations over time, the world's
effects and persistence, fault rules, and a provider written as docs/sandbox-providers.md shows."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pytask.sandbox.core import (
    ArmError,
    Clock,
    Effect,
    OperationKind,
    Provider,
    RequestContext,
    Route,
    World,
    check_preconditions,
    new_etag,
    page,
    public,
    reply,
)
from pytask.sandbox.core import operations as core_operations
from pytask.sandbox.core.arm import request_resource_id, require_resource, require_resource_group
from pytask.sandbox.core.context import CaseInsensitive, Principal
from pytask.sandbox.core.dispatch import Dispatcher, Incoming
from pytask.sandbox.core.faults import FaultConfigError, FaultEngine, parse_rules
from pytask.sandbox.core.lro import Operation
from pytask.sandbox.core.persistence import JsonLines
from pytask.sandbox.core.reply import Reply
from pytask.sandbox.core.routing import Router, compile_template
from pytask.sandbox.core.seed import apply_seed
from pytask.sandbox.providers.resources.urls import PROVIDER as RESOURCES


def _noop(ctx: RequestContext) -> None:
    return None


# --- routing --------------------------------------------------------------------------------
def test_templates_match_case_insensitively_and_capture_placeholders() -> None:
    pattern = compile_template("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}")
    found = pattern.match("/SUBSCRIPTIONS/abc/resourcegroups/My-RG/")
    assert found is not None
    assert found.groupdict() == {"subscriptionId": "abc", "resourceGroupName": "My-RG"}
    assert pattern.match("/subscriptions/abc/resourceGroups/rg/extra") is None


def test_the_more_literal_template_wins() -> None:
    provider = Provider(
        "Test.Routes",
        routes=[
            Route("GET", "/a/{x}/{*rest}", _noop, operation="generic"),
            Route("GET", "/a/{x}/resources", _noop, operation="specific"),
            Route("PUT", "/a/{x}", _noop, operation="put"),
        ],
    )
    router = Router([provider])
    specific = router.match("GET", "/a/1/Resources")
    generic = router.match("GET", "/a/1/b/c")
    assert specific is not None and specific.route.operation == "specific"
    assert generic is not None and generic.params == {"x": "1", "rest": "b/c"}
    assert router.match("GET", "/a/1") is None and router.path_known("/a/1")
    assert not router.path_known("/b")


# --- paging and etags -----------------------------------------------------------------------
def test_paging_builds_next_links_that_keep_the_query() -> None:
    items = list(range(5))
    first = page(items, "https://h", "/p", CaseInsensitive({"api-version": "1"}), 2)
    assert first["value"] == [0, 1]
    assert first["nextLink"] == "https://h/p?api-version=1&%24skiptoken=2"
    last = page(items, "https://h", "/p", CaseInsensitive({"$skiptoken": "4"}), 2)
    assert last == {"value": [4]}
    with pytest.raises(ArmError) as bad:
        page(items, "https://h", "/p", CaseInsensitive({"$skiptoken": "x"}), 2)
    assert bad.value.status == 400


def test_preconditions() -> None:
    etag = new_etag()
    check_preconditions(CaseInsensitive({"If-Match": etag}), etag, True)
    check_preconditions(CaseInsensitive({"If-None-Match": "*"}), None, False)
    check_preconditions(CaseInsensitive({}), etag, True)
    for headers, exists in (
        ({"If-Match": new_etag()}, True),
        ({"if-match": "*"}, False),
        ({"If-None-Match": "*"}, True),
    ):
        with pytest.raises(ArmError) as failed:
            check_preconditions(CaseInsensitive(headers), etag, exists)
        assert (failed.value.status, failed.value.code) == (412, "PreconditionFailed")


# --- operations and the world ---------------------------------------------------------------
def test_operation_status_is_computed_from_the_clock() -> None:
    op = Operation.new(
        namespace="Test.Ns",
        location="eastus",
        api_version="2024-01-01",
        start=1000.0,
        duration=3.0,
        subscription_id="sub",
    )
    assert op.status(1002.9) == "InProgress"
    assert op.status_document(1002.9).get("endTime") is None
    assert op.status(1003.0) == "Succeeded"
    headers = op.headers("https://h", OperationKind.BOTH, 2)
    assert headers["Retry-After"] == "2"
    assert headers["Azure-AsyncOperation"].startswith(
        "https://h/subscriptions/sub/providers/Test.Ns/locations/eastus/operations/"
    )
    assert "/operationResults/" in headers["Location"]
    assert set(op.headers("https://h", OperationKind.ASYNC_OPERATION, 1)) == {
        "Retry-After",
        "Azure-AsyncOperation",
    }
    assert Clock(0.01).scaled(300) == pytest.approx(3.0)


def test_world_settles_effects_in_due_order_and_round_trips(tmp_path: Path) -> None:
    world = World("tenant", "sub")
    ran: list[str] = []
    world.effect_handlers[("Ns", "note")] = lambda w, args: ran.append(args["n"])
    world.schedule(Effect(20.0, "Ns", "note", {"n": "second"}))
    world.schedule(Effect(10.0, "Ns", "note", {"n": "first"}))
    world.put({"id": "/subscriptions/sub/resourceGroups/RG", "_private": 1})
    world.put({"id": "/subscriptions/sub/resourceGroups/rg/providers/X/y/z", "location": "l"})
    assert world.settle(5.0) == 0
    assert world.settle(30.0) == 2 and ran == ["first", "second"]
    copy = World("other", "other")
    copy.load_json(json.loads(json.dumps(world.to_json())))
    assert copy.get("/SUBSCRIPTIONS/sub/resourcegroups/rg") is not None
    assert public(world.get("/subscriptions/sub/resourceGroups/rg") or {}) == {
        "id": "/subscriptions/sub/resourceGroups/RG"
    }
    world.delete("/subscriptions/sub/resourceGroups/rg")
    assert world.resources == {}


# --- fault rules ----------------------------------------------------------------------------
def test_fault_rules_trigger_by_nth_count_and_probability(tmp_path: Path) -> None:
    engine = FaultEngine(JsonLines(tmp_path / "faults.jsonl"), rng=random.Random(7))
    engine.replace(
        {
            "rules": [
                {"name": "third", "method": "get", "nth": 3, "status": 503},
                {"name": "two-puts", "method": "PUT", "count": 2, "inject": "reset"},
                {"name": "half", "operation": "Op_Delete", "probability": 0.5},
            ]
        }
    )
    gets = [engine.pick("GET", "/x", "Op_Get", str(i)) for i in range(5)]
    assert [g is not None for g in gets] == [False, False, True, False, False]
    puts = [engine.pick("PUT", "/x", "Op_Put", str(i)) for i in range(4)]
    assert [p.inject if p else None for p in puts] == ["reset", "reset", None, None]
    deletes = [engine.pick("DELETE", "/x", "op_delete", str(i)) for i in range(200)]
    assert 60 < sum(d is not None for d in deletes) < 140
    logged = (tmp_path / "faults.jsonl").read_text().splitlines()
    assert len(logged) == 1 + 2 + sum(d is not None for d in deletes)


def test_fault_rules_are_validated() -> None:
    with pytest.raises(FaultConfigError):
        parse_rules({"rules": [{"inject": "explode"}]})
    with pytest.raises(FaultConfigError):
        parse_rules({"rules": [{"nth": 1, "count": 2}]})
    assert parse_rules(None) == []


# --- a provider written from the documentation, served by the dispatcher --------------------
WIDGET_TYPE = "Contoso.Widgets/widgets"
BASE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Contoso.Widgets/widgets/{widgetName}"
)


def _put_widget(ctx: RequestContext) -> Reply:
    require_resource_group(ctx)
    body = ctx.json_object()
    ctx.require("location" in body, "InvalidParameter", "location is required", "location")
    rid = request_resource_id(ctx)
    existing = ctx.world.get(rid)
    ctx.check_preconditions(existing.get("etag") if existing else None, existing is not None)
    doc = {
        "id": rid,
        "name": ctx.params["widgetName"],
        "type": WIDGET_TYPE,
        "location": body["location"],
        "etag": new_etag(),
        "properties": {"provisioningState": "Creating"},
    }
    ctx.world.put(doc)
    _, headers = ctx.start_operation(
        60, location=body["location"], on_success=("finish", {"id": rid})
    )
    return reply(public(doc), 200 if existing else 201, headers)


def _get_widget(ctx: RequestContext) -> dict[str, Any]:
    return public(require_resource(ctx, WIDGET_TYPE, ctx.params["widgetName"]))


def _finish(world: World, args: dict[str, Any]) -> None:
    doc = world.get(args["id"])
    if doc is not None:
        doc["properties"]["provisioningState"] = "Succeeded"
        world.put(doc)


WIDGETS = Provider(
    namespace="Contoso.Widgets",
    api_versions={"widgets": ("2024-01-01",)},
    routes=[
        Route("PUT", BASE, _put_widget, "widgets", "Widgets_CreateOrUpdate"),
        Route("GET", BASE, _get_widget, "widgets", "Widgets_Get"),
    ],
    effects={"finish": _finish},
)


class _AllowAll:
    def authenticate(self, ctx: RequestContext) -> Principal:
        return Principal("oid", "appid", "tid")

    def authorize(self, ctx: RequestContext, action: str, scope: str) -> None:
        self.last_action = action


class _Clock(Clock):
    def __init__(self) -> None:
        super().__init__(0.01)
        object.__setattr__(self, "t", 1000.0)

    def now(self) -> float:
        return float(self.t)  # type: ignore[attr-defined]


def _dispatcher(tmp_path: Path, clock: Clock) -> Dispatcher:
    world = World("tenant", "sub")
    world.endpoints["base_url"] = "https://sandbox"
    for provider in (RESOURCES, WIDGETS, core_operations.PROVIDER):
        for name, handler in provider.effects.items():
            world.effect_handlers[(provider.namespace, name)] = handler
    return Dispatcher(
        world=world,
        providers=[RESOURCES, WIDGETS, core_operations.PROVIDER],
        clock=clock,
        security=_AllowAll(),
        faults=FaultEngine(JsonLines(tmp_path / "faults.jsonl")),
        request_log=JsonLines(tmp_path / "requests.jsonl"),
        state_file=tmp_path / "world.json",
    )


def _send(
    dispatcher: Dispatcher, method: str, path: str, version: str | None, body: Any = None
) -> Reply:
    query = [] if version is None else [("api-version", version)]
    incoming = Incoming(method, path, query, [], b"" if body is None else json.dumps(body).encode())
    routed = dispatcher.route(incoming)
    if isinstance(routed, Reply):
        return routed
    return dispatcher.execute(incoming, routed).reply


def test_documented_provider_through_the_dispatcher(tmp_path: Path) -> None:
    clock = _Clock()
    dispatcher = _dispatcher(tmp_path, clock)
    apply_seed({"resourceGroups": [{"name": "rg"}]}, [RESOURCES, WIDGETS], dispatcher)
    path = "/subscriptions/sub/resourceGroups/rg/providers/Contoso.Widgets/widgets/w1"
    wrong = _send(dispatcher, "PUT", path, "2099-01-01", {"location": "eastus"})
    assert wrong.status == 400
    assert wrong.body["error"]["code"] == "NoRegisteredProviderFound"
    assert "The supported api-versions are '2024-01-01'" in wrong.body["error"]["message"]
    bad = _send(dispatcher, "PUT", path, "2024-01-01", {})
    assert (bad.status, bad.body["error"]["target"]) == (400, "location")
    created = _send(dispatcher, "PUT", path, "2024-01-01", {"location": "eastus"})
    assert created.status == 201
    assert created.body["properties"]["provisioningState"] == "Creating"
    poll_path = created.headers["Azure-AsyncOperation"].removeprefix("https://sandbox")
    poll_path = poll_path.split("?")[0]
    assert _send(dispatcher, "GET", poll_path, None).body["status"] == "InProgress"
    object.__setattr__(clock, "t", 1000.6)  # 60 s at time scale 0.01 is 0.6 s
    assert _send(dispatcher, "GET", poll_path, None).body["status"] == "Succeeded"
    got = _send(dispatcher, "GET", path, "2024-01-01")
    assert got.body["properties"]["provisioningState"] == "Succeeded"
    missing = _send(dispatcher, "GET", path.replace("w1", "w2"), "2024-01-01")
    assert missing.body["error"]["code"] == "ResourceNotFound"
    assert missing.body["error"]["message"].startswith(
        "The Resource 'Contoso.Widgets/widgets/w2' under resource group 'rg' was not found."
    )
    no_group = _send(dispatcher, "GET", path.replace("/rg/", "/nope/"), "2024-01-01")
    assert no_group.body["error"]["code"] == "ResourceGroupNotFound"
    assert _send(dispatcher, "DELETE", path, "2024-01-01").status == 405
    assert json.loads((tmp_path / "world.json").read_text())["resources"]
    listed = _send(
        dispatcher, "GET", "/subscriptions/sub/resourceGroups/rg/resources", "2021-04-01"
    )
    assert [r["name"] for r in listed.body["value"]] == ["w1"]
    unknown = _send(dispatcher, "GET", path.replace("widgets/w1", "gadgets/g"), "2024-01-01")
    assert (unknown.status, unknown.body["error"]["code"]) == (400, "InvalidResourceType")
    other = _send(dispatcher, "GET", path.replace("Contoso.Widgets", "Foo.Bar"), "2024-01-01")
    assert other.body["error"]["code"] == "InvalidResourceNamespace"
