"""The sandbox tenant's service principals and the Azure DevOps service connections that
use them. Generated once per state dir and kept in world.state["identity"]."""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pytask.sandbox.core.cloud import DEVOPS_ORGANIZATION, DEVOPS_PROJECT
from pytask.sandbox.identity.keys import SigningKey

# Built-in principals, one per authentication scheme of an AzureRM service connection.
SPN_KEY = "spnKey"
SPN_CERTIFICATE = "spnCertificate"
WORKLOAD_IDENTITY = "workloadIdentityFederation"
MANAGED_IDENTITY = "managedIdentity"
BUILT_IN = (SPN_KEY, SPN_CERTIFICATE, WORKLOAD_IDENTITY, MANAGED_IDENTITY)

FEDERATION_AUDIENCE = "api://AzureADTokenExchange"


@dataclass
class ServicePrincipal:
    name: str
    app_id: str
    object_id: str
    display_name: str
    # Service connection in Azure DevOps that authenticates as this principal.
    connection_id: str
    connection_name: str
    secret: str | None = None
    certificate_pem: str | None = None  # public certificate registered on the app
    private_key_pem: str | None = None  # only the sandbox and the connection hold it
    federated_subject: str | None = None
    managed: bool = False

    @property
    def certificate(self) -> x509.Certificate | None:
        if self.certificate_pem is None:
            return None
        return x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))


@dataclass
class IdentityState:
    signing_key: SigningKey
    devops_organization_id: str
    devops_project_id: str
    job_access_token: str  # System.AccessToken the sandbox accepts for OIDC requests
    identity_header: str  # IDENTITY_HEADER secret for the managed identity endpoint
    principals: list[ServicePrincipal] = field(default_factory=list)
    # RBAC from the seed: [{"principal": object id, "role": name, "scope": id}], and custom
    # roles [{"name", "actions", "notActions"}]. A principal with no assignment is Owner of
    # the subscription.
    role_assignments: list[dict[str, str]] = field(default_factory=list)
    role_definitions: list[dict[str, Any]] = field(default_factory=list)

    def find_app(self, app_id: str) -> ServicePrincipal | None:
        wanted = app_id.lower()
        return next((p for p in self.principals if p.app_id.lower() == wanted), None)

    def by_name(self, name: str) -> ServicePrincipal | None:
        return next((p for p in self.principals if p.name == name), None)

    def by_object_id(self, object_id: str) -> ServicePrincipal | None:
        wanted = object_id.lower()
        return next((p for p in self.principals if p.object_id.lower() == wanted), None)

    def by_connection(self, connection_id: str) -> ServicePrincipal | None:
        wanted = connection_id.lower()
        return next((p for p in self.principals if p.connection_id.lower() == wanted), None)

    def managed_identity(self, client_id: str | None) -> ServicePrincipal | None:
        managed = [p for p in self.principals if p.managed]
        if client_id:
            return next((p for p in managed if p.app_id.lower() == client_id.lower()), None)
        return managed[0] if managed else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["signing_key"] = self.signing_key.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IdentityState:
        fields = dict(data)
        fields["signing_key"] = SigningKey(**data["signing_key"])
        fields["principals"] = [ServicePrincipal(**p) for p in data["principals"]]
        return cls(**fields)


def federated_subject(connection_name: str) -> str:
    """The subject Azure DevOps puts in its OIDC tokens for a service connection."""
    return f"sc://{DEVOPS_ORGANIZATION}/{DEVOPS_PROJECT}/{connection_name}"


def new_principal(name: str, kind: str, connection_name: str | None = None) -> ServicePrincipal:
    """A service principal of `kind` (one of BUILT_IN) with fresh credentials."""
    connection = connection_name or ("sandbox" if kind == SPN_KEY else f"sandbox-{name}")
    sp = ServicePrincipal(
        name=name,
        app_id=str(uuid.uuid4()),
        object_id=str(uuid.uuid4()),
        display_name=f"sandbox {name}",
        connection_id=str(uuid.uuid4()),
        connection_name=connection,
    )
    if kind == SPN_KEY:
        sp.secret = secrets.token_urlsafe(30)
    elif kind == SPN_CERTIFICATE:
        sp.certificate_pem, sp.private_key_pem = _self_signed(sp.display_name)
    elif kind == WORKLOAD_IDENTITY:
        sp.federated_subject = federated_subject(connection)
    elif kind == MANAGED_IDENTITY:
        sp.managed = True
    else:
        raise ValueError(f"unknown principal kind {kind!r}")
    return sp


def new_identity_state() -> IdentityState:
    state = IdentityState(
        signing_key=SigningKey.generate(),
        devops_organization_id=str(uuid.uuid4()),
        devops_project_id=str(uuid.uuid4()),
        job_access_token=secrets.token_urlsafe(40),
        identity_header=secrets.token_urlsafe(24),
    )
    state.principals = [new_principal(kind, kind) for kind in BUILT_IN]
    return state


def _self_signed(common_name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return cert_pem, key_pem
