"""CloudSession over the wire: each client goes to the connection's cloud, asks for the
right token audience, names the extension in its user agent and survives throttling.

The cloud here is a small loopback HTTPS server written for these tests (metadata, Entra
token endpoint, a few ARM and data-plane routes); the product code and the Azure SDKs under
test are the real ones.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import trustme
from azure.core.exceptions import HttpResponseError

import pytask
from pytask.agent.connection import ServiceConnection
from pytask.cloud import CloudConfigError, CloudSession, JobIdentity
from pytask.cloud.policy import ClientPolicy

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
SECRET = "loopback-secret"
SUB = "00000000-1111-2222-3333-444444444444"
ARM_AUDIENCE = "https://management.loopback.test/"
GALLERY = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g1"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/pkgs"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def token(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ")


Reply = tuple[int, dict[str, str], Any]
Handler = Callable[[Seen], Reply]


class LoopbackCloud:
    """Routes by (method, path); unmatched requests get ARM's 404 shape."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.routes: dict[tuple[str, str], Handler] = {}
        self.certificate_key: Any = None  # public key of the registered certificate
        self.oidc_token = "oidc-assertion-for-conn-1"

    def bind(self, url: str) -> None:
        """Known once the server has its port: the cloud describes itself with its own URL."""
        self.url = url
        self.metadata: dict[str, Any] = {
            "name": "Loopback",
            "resourceManager": url + "/",
            "portal": url + "/portal",
            "authentication": {"loginEndpoint": url + "/", "audiences": [ARM_AUDIENCE]},
            "suffixes": {"storage": "blob.loopback.test"},
            "logAnalyticsResourceId": "https://api.loganalytics.loopback.test",
            "logAnalytics": url + "/loganalytics",
            "metricsEndpointTemplate": url + "/metrics/{region}",
            "metricsAudience": "https://metrics.loopback.test",
        }
        self.route("GET", "/metadata/endpoints", lambda _: (200, {}, self.metadata))
        self.route("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration", self._openid)
        self.route("POST", f"/{TENANT}/oauth2/v2.0/token", self._token)

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def scopes_requested(self) -> list[str]:
        token_path = f"/{TENANT}/oauth2/v2.0/token"
        return [parse_qs(s.body.decode())["scope"][0] for s in self.requests_to(token_path)]

    def handle(self, seen: Seen) -> Reply:
        self.seen.append(seen)
        handler = self.routes.get((seen.method, seen.path))
        if handler is None:
            return 404, {}, {"error": {"code": "ResourceNotFound", "message": seen.path}}
        return handler(seen)

    def _openid(self, _: Seen) -> Reply:
        base = f"{self.url}/{TENANT}"
        return (
            200,
            {},
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            },
        )

    def _token(self, seen: Seen) -> Reply:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        if form.get("client_id") != CLIENT or not self._authentic(form):
            return 401, {}, {"error": "invalid_client", "error_description": "AADSTS7000215"}
        token = "token-for " + form["scope"]
        return 200, {}, {"token_type": "Bearer", "expires_in": 3600, "access_token": token}

    def _authentic(self, form: dict[str, str]) -> bool:
        if "client_secret" in form:
            return form["client_secret"] == SECRET
        assertion = form.get("client_assertion", "")
        if assertion and assertion == self.oidc_token:
            return True
        if not assertion or self.certificate_key is None:
            return False
        try:
            claims = jwt.decode(
                assertion,
                self.certificate_key,
                algorithms=["RS256", "PS256"],
                audience=f"{self.url}/{TENANT}/oauth2/v2.0/token",
            )
        except jwt.InvalidTokenError:
            return False
        return bool(claims["iss"] == CLIENT)


def _handler_class(cloud: LoopbackCloud) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            status, headers, body = cloud.handle(seen)
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"content-type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _serve

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (the timeout test) close mid-response; that is expected.
        pass


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ssl.SSLContext]:
    """One CA for the module: the client's bundle and the server's context."""
    ca = trustme.CA()
    bundle = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return str(bundle), context


@pytest.fixture
def cloud(
    tls: tuple[str, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> Iterator[LoopbackCloud]:
    bundle, context = tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    loopback = LoopbackCloud()
    server = QuietServer(("127.0.0.1", 0), _handler_class(loopback))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    loopback.bind(f"https://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield loopback
    server.shutdown()
    server.server_close()


def connection(cloud: LoopbackCloud, **data: str) -> ServiceConnection:
    return ServiceConnection(
        id="conn-1",
        url=cloud.url + "/",
        scheme="ServicePrincipal",
        parameters={
            "serviceprincipalid": CLIENT,
            "tenantid": TENANT,
            "authenticationType": "spnKey",
            "serviceprincipalkey": SECRET,
        },
        data={"subscriptionId": SUB, "environment": "Loopback", **data},
    )


def session(cloud: LoopbackCloud, **data: str) -> CloudSession:
    return CloudSession.from_connection(
        connection(cloud, **data),
        policy=ClientPolicy(retry_backoff_factor=0.01, polling_interval=0.05),
    )


GALLERY_BODY = {"id": GALLERY, "name": "g1", "location": "westus3", "properties": {}}


def test_sdk_client_uses_the_connections_cloud_audience_and_user_agent(
    cloud: LoopbackCloud,
) -> None:
    cloud.route("GET", GALLERY, lambda _: (200, {}, GALLERY_BODY))
    with session(cloud) as cloud_session, cloud_session.compute() as compute:
        gallery = compute.galleries.get("rg", "g1")
    assert gallery.name == "g1"
    [request] = cloud.requests_to(GALLERY)
    assert request.token == "token-for " + ARM_AUDIENCE + ".default"
    assert f"VmApplicationRelease/{pytask.__version__}" in request.headers["user-agent"]
    [discovery] = cloud.requests_to("/metadata/endpoints")
    assert discovery.query["api-version"] == ["2022-09-01"]
    assert "authorization" not in discovery.headers


def test_connection_audience_wins_over_discovered(cloud: LoopbackCloud) -> None:
    cloud.route("GET", GALLERY, lambda _: (200, {}, GALLERY_BODY))
    own = "https://management.core.loopback.test/"
    with session(cloud, activeDirectoryServiceEndpointResourceId=own).compute() as compute:
        compute.galleries.get("rg", "g1")
    assert cloud.scopes_requested()[-1] == own + ".default"


def test_retry_after_is_honoured(cloud: LoopbackCloud) -> None:
    replies = iter(
        [
            (429, {"Retry-After": "1"}, {"error": {"code": "TooManyRequests", "message": "x"}}),
            (200, {}, GALLERY_BODY),
        ]
    )
    cloud.route("GET", GALLERY, lambda _: next(replies))
    with session(cloud).compute() as compute:
        assert compute.galleries.get("rg", "g1").name == "g1"
    first, second = cloud.requests_to(GALLERY)
    assert second.at - first.at >= 0.9


def test_older_metadata_shape_is_discovered(cloud: LoopbackCloud) -> None:
    stack_document = {
        "portalEndpoint": cloud.url + "/portal/",
        "authentication": {"loginEndpoint": cloud.url + "/", "audiences": [ARM_AUDIENCE]},
    }

    def by_version(seen: Seen) -> Reply:
        if seen.query["api-version"] == ["2015-01-01"]:
            return 200, {}, stack_document
        return 400, {}, {"error": {"code": "InvalidApiVersionParameter", "message": "no"}}

    cloud.route("GET", "/metadata/endpoints", by_version)
    endpoints = session(cloud).endpoints
    assert endpoints.portal == cloud.url + "/portal"
    assert endpoints.authority == cloud.url


def test_unreachable_metadata_is_a_clear_error(cloud: LoopbackCloud) -> None:
    cloud.route("GET", "/metadata/endpoints", lambda _: (404, {}, None))
    with pytest.raises(CloudConfigError, match=r"Could not discover.*404"):
        session(cloud)


def test_a_job_discovers_each_cloud_once(cloud: LoopbackCloud, tmp_path: Path) -> None:
    """Tasks of one job share its Agent.TempDirectory: the second reads the first's copy."""
    policy = ClientPolicy(retry_backoff_factor=0.01)
    first = CloudSession.from_connection(connection(cloud), policy=policy, job_folder=tmp_path)
    second = CloudSession.from_connection(connection(cloud), policy=policy, job_folder=tmp_path)
    assert second.endpoints == first.endpoints
    assert len(cloud.requests_to("/metadata/endpoints")) == 1
    # Another job (its own folder), or no job folder at all: discovered again.
    CloudSession.from_connection(connection(cloud), policy=policy, job_folder=tmp_path / "next")
    CloudSession.from_connection(connection(cloud), policy=policy)
    assert len(cloud.requests_to("/metadata/endpoints")) == 3


def test_an_unreadable_job_copy_is_fetched_again(cloud: LoopbackCloud, tmp_path: Path) -> None:
    session_in_job = lambda: CloudSession.from_connection(  # noqa: E731
        connection(cloud), policy=ClientPolicy(retry_backoff_factor=0.01), job_folder=tmp_path
    )
    session_in_job()
    [entry] = tmp_path.rglob("*.json")
    entry.write_text("{not json")
    assert session_in_job().endpoints.authority == cloud.url
    assert len(cloud.requests_to("/metadata/endpoints")) == 2
    assert json.loads(entry.read_text())["armUrl"] == cloud.url


def test_blob_client_uses_the_account_endpoint_from_arm_and_storage_audience(
    cloud: LoopbackCloud,
) -> None:
    blob_root = cloud.url + "/blob/pkgs"
    account = {
        "id": ACCOUNT,
        "name": "pkgs",
        "location": "westus3",
        "properties": {"primaryEndpoints": {"blob": blob_root + "/"}},
    }
    cloud.route("GET", ACCOUNT, lambda _: (200, {}, account))
    headers = {"x-ms-sku-name": "Standard_LRS", "x-ms-account-kind": "StorageV2"}
    cloud.route("GET", "/blob/pkgs/", lambda _: (200, headers, None))
    blobs = session(cloud).blob_service_for_account("rg", "pkgs")
    assert blobs.url.rstrip("/") == blob_root
    assert blobs.get_account_information()["sku_name"] == "Standard_LRS"
    [request] = cloud.requests_to("/blob/pkgs/")
    assert request.token == "token-for https://storage.azure.com/.default"


def test_logs_client_uses_discovered_log_analytics(cloud: LoopbackCloud) -> None:
    path = "/loganalytics/v1/workspaces/ws-1/query"
    result = {
        "tables": [
            {"name": "PrimaryResult", "columns": [{"name": "n", "type": "long"}], "rows": [[7]]}
        ]
    }
    cloud.route("POST", path, lambda _: (200, {}, result))
    with session(cloud).logs() as logs:
        response = logs.query_workspace("ws-1", "Heartbeat | count", timespan=None)
    assert response.tables[0].rows[0][0] == 7
    [request] = cloud.requests_to(path)
    assert request.token == "token-for https://api.loganalytics.loopback.test/.default"


def test_metrics_client_uses_the_regional_endpoint(cloud: LoopbackCloud) -> None:
    path = f"/metrics/westus3/subscriptions/{SUB}/metrics:getBatch"
    cloud.route("POST", path, lambda _: (200, {}, {"values": []}))
    with session(cloud).metrics("West US 3") as metrics:
        metrics.query_resources(
            resource_ids=[GALLERY],
            metric_namespace="Microsoft.Compute/virtualMachines",
            metric_names=["Percentage CPU"],
        )
    [request] = cloud.requests_to(path)
    assert request.token == "token-for https://metrics.loopback.test/.default"


def test_arm_client_long_running_put_with_if_match(cloud: LoopbackCloud) -> None:
    operation = f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westus3/operations/op1"
    polls = iter(["InProgress", "Succeeded"])
    vmss = {"id": GALLERY, "name": "g1", "properties": {"provisioningState": "Updating"}}

    def put(seen: Seen) -> Reply:
        if seen.headers.get("if-match") != '"etag-1"':
            return 412, {}, {"error": {"code": "PreconditionFailed", "message": "etag"}}
        return 200, {"Azure-AsyncOperation": cloud.url + operation, "Retry-After": "0"}, vmss

    def get(_: Seen) -> Reply:
        return 200, {}, {**vmss, "properties": {"provisioningState": "Succeeded"}}

    cloud.route("PUT", GALLERY, put)
    cloud.route("GET", GALLERY, get)
    cloud.route("GET", operation, lambda _: (200, {"Retry-After": "0"}, {"status": next(polls)}))
    with session(cloud).arm() as arm:
        poller = arm.begin(
            "PUT", GALLERY, "2024-07-01", body={"properties": {}}, headers={"If-Match": '"etag-1"'}
        )
        assert poller.result()["properties"]["provisioningState"] == "Succeeded"
        with pytest.raises(HttpResponseError) as error:
            arm.request("PUT", GALLERY, "2024-07-01", body={}, headers={"If-Match": '"old"'})
    assert error.value.status_code == 412
    assert error.value.error is not None and error.value.error.code == "PreconditionFailed"
    assert len(cloud.requests_to(operation)) == 2


def test_portal_links_use_the_discovered_portal(cloud: LoopbackCloud) -> None:
    link = session(cloud).portal().resource(GALLERY)
    assert link == f"{cloud.url}/portal/#@{TENANT}/resource{GALLERY}/overview"


def test_wrong_secret_surfaces_the_entra_error(cloud: LoopbackCloud) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    cloud.route("GET", GALLERY, lambda _: (200, {}, GALLERY_BODY))
    conn = connection(cloud)
    bad = ServiceConnection(
        id=conn.id,
        url=conn.url,
        scheme=conn.scheme,
        parameters={**conn.parameters, "serviceprincipalkey": "wrong"},
        data=conn.data,
    )
    with (
        pytest.raises(ClientAuthenticationError, match="AADSTS7000215"),
        CloudSession.from_connection(bad).compute() as compute,
    ):
        compute.galleries.get("rg", "g1")
    assert cloud.requests_to(GALLERY) == []


# -- every auth scheme gets a token from the cloud's own authority ---------------------------


def scheme_connection(cloud: LoopbackCloud, scheme: str, **parameters: str) -> ServiceConnection:
    return ServiceConnection(
        id="conn-1",
        url=cloud.url,
        scheme=scheme,
        parameters={"serviceprincipalid": CLIENT, "tenantid": TENANT, **parameters},
        data={"subscriptionId": SUB},
    )


def read_gallery(cloud: LoopbackCloud, session: CloudSession) -> None:
    cloud.route("GET", GALLERY, lambda _: (200, {}, GALLERY_BODY))
    with session.compute() as compute:
        compute.galleries.get("rg", "g1")
    [request] = cloud.requests_to(GALLERY)
    assert request.token == "token-for " + ARM_AUDIENCE + ".default"


def test_certificate_connection_signs_an_assertion(cloud: LoopbackCloud) -> None:
    from cryptography.x509 import load_pem_x509_certificate

    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "pytask-spn", key_type=trustme.KeyType.RSA
    )
    pem = leaf.private_key_and_cert_chain_pem.bytes().decode()
    cloud.certificate_key = load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_key()
    conn = scheme_connection(
        cloud,
        "ServicePrincipal",
        authenticationType="spnCertificate",
        servicePrincipalCertificate=pem,
    )
    read_gallery(cloud, CloudSession.from_connection(conn))
    token_request = cloud.requests_to(f"/{TENANT}/oauth2/v2.0/token")[-1]
    assert b"client_assertion=" in token_request.body


def test_workload_identity_exchanges_the_job_token_for_an_assertion(
    cloud: LoopbackCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    oidc_path = (
        "/sandbox-org/sandbox-project/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken"
    )

    def oidc(seen: Seen) -> Reply:
        if seen.token != "job-access-token":
            return 401, {}, {"message": "bad job token"}
        return 200, {}, {"oidcToken": cloud.oidc_token}

    cloud.route("POST", oidc_path, oidc)
    monkeypatch.delenv("SYSTEM_OIDCREQUESTURI", raising=False)
    job = JobIdentity(access_token="job-access-token", oidc_request_uri=cloud.url + oidc_path)
    conn = scheme_connection(cloud, "WorkloadIdentityFederation")
    read_gallery(cloud, CloudSession.from_connection(conn, job))
    [request] = cloud.requests_to(oidc_path)
    assert request.query["serviceConnectionId"] == ["conn-1"]


def test_managed_identity_asks_the_identity_endpoint_for_its_client_id(
    cloud: LoopbackCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    def msi(seen: Seen) -> Reply:
        if seen.headers.get("x-identity-header") != "header-secret":
            return 401, {}, {"error": "invalid_request"}
        token = "token-for " + seen.query["resource"][0] + "/.default"
        expires = str(int(time.time()) + 3600)
        return 200, {}, {"access_token": token, "expires_on": expires, "token_type": "Bearer"}

    cloud.route("GET", "/msi/token", msi)
    monkeypatch.setenv("IDENTITY_ENDPOINT", cloud.url + "/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "header-secret")
    conn = ServiceConnection(
        id="conn-1",
        url=cloud.url,
        scheme="ManagedServiceIdentity",
        parameters={"tenantid": TENANT},
        data={"subscriptionId": SUB, "msiclientId": CLIENT},
    )
    read_gallery(cloud, CloudSession.from_connection(conn))
    [request] = cloud.requests_to("/msi/token")
    assert request.query["client_id"] == [CLIENT]


def test_arm_client_keeps_a_paths_own_query_and_api_version(cloud: LoopbackCloud) -> None:
    cloud.route("GET", GALLERY, lambda _: (200, {}, GALLERY_BODY))
    next_link = f"{cloud.url}{GALLERY}?$skiptoken=abc&api-version=2023-07-03"
    with session(cloud).arm() as arm:
        arm.request("GET", GALLERY + "?$expand=instanceView", "2024-07-01")
        arm.request("GET", next_link, "2024-07-01")
    first, second = cloud.requests_to(GALLERY)
    assert first.query == {"$expand": ["instanceView"], "api-version": ["2024-07-01"]}
    assert second.query == {"$skiptoken": ["abc"], "api-version": ["2023-07-03"]}


def test_read_timeout_of_the_policy_applies_to_sdk_clients(cloud: LoopbackCloud) -> None:
    from azure.core.exceptions import ServiceResponseError

    def slow(_: Seen) -> Reply:
        time.sleep(1.0)
        return 200, {}, GALLERY_BODY

    cloud.route("GET", GALLERY, slow)
    impatient = ClientPolicy(read_timeout=0.3, retry_total=0)
    conn = connection(cloud)
    with (
        pytest.raises(ServiceResponseError),
        CloudSession.from_connection(conn, policy=impatient).compute() as compute,
    ):
        compute.galleries.get("rg", "g1")
