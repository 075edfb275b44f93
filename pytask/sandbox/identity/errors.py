"""Entra ID (AADSTS) error responses, in the shape login.microsoftonline.com answers."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from pytask.sandbox.core.reply import Reply, reply


class EntraError(Exception):
    """Raised by token endpoint checks; rendered by `entra_reply`."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description


def entra_reply(error: EntraError, base_url: str, correlation_id: str | None = None) -> Reply:
    trace_id = str(uuid.uuid4())
    correlation = correlation_id or str(uuid.uuid4())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{error.code}: {error.description} Trace ID: {trace_id} "
        f"Correlation ID: {correlation} Timestamp: {stamp}"
    )
    body = {
        "error": error.error,
        "error_description": description,
        "error_codes": [error.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation,
        "error_uri": f"{base_url}/error?code={error.code}",
    }
    return reply(body, error.status)


def tenant_not_found(tenant: str) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def app_not_found(app_id: str, tenant: str) -> EntraError:
    return EntraError(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{app_id}' was not found in the directory '{tenant}'. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You may have sent your authentication "
        "request to the wrong tenant.",
    )


def invalid_secret(app_id: str) -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        f"'{app_id}'.",
    )


def missing_credential() -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    )


def missing_parameter(name: str) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def unsupported_grant(grant_type: str) -> EntraError:
    return EntraError(
        400,
        "unsupported_grant_type",
        70003,
        f"The app requested an unsupported grant type '{grant_type}'.",
    )


def invalid_scope(scope: str) -> EntraError:
    return EntraError(
        400,
        "invalid_scope",
        1002012,
        f"The provided value for scope {scope} is not valid. Client credential flows must have "
        "a scope value with /.default suffixed to the resource identifier (application ID URI).",
    )


def assertion_expired(now: float, nbf: float | None, exp: float | None) -> EntraError:
    def fmt(epoch: float | None) -> str:
        if epoch is None:
            return "(none)"
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%m/%d/%Y %H:%M:%S")

    return EntraError(
        400,
        "invalid_client",
        700024,
        f"Client assertion is not within its valid time range. Current time: {fmt(now)}, "
        f"assertion valid from {fmt(nbf)}, expiry time of assertion {fmt(exp)}. Review the "
        "documentation at "
        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
    )


def signature_invalid() -> EntraError:
    return EntraError(
        401, "invalid_client", 700027, "Client assertion failed signature validation."
    )


def certificate_not_registered(thumbprint: str) -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        700027,
        "The certificate with identifier used to sign the client assertion is not registered on "
        f"application. [Reason - The key was not found., Thumbprint of key used by client: "
        f"'{thumbprint}']",
    )


def malformed_assertion(detail: str) -> EntraError:
    return EntraError(400, "invalid_request", 50027, f"JWT token is invalid or malformed. {detail}")


def no_federated_match(issuer: str, subject: str, audience: str) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        70021,
        "No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. "
        f"Assertion Audience: '{audience}'. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
    )
