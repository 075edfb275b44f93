"""Reading AzureRM service connections as the agent passes them, and their errors."""

from __future__ import annotations

import pytest

from pytask.agent.connection import ServiceConnection
from pytask.cloud.azurerm import AuthKind, parse_azurerm
from pytask.cloud.errors import CloudConfigError

SECRET = "s3cr3t-value-never-logged"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"


def connection(
    scheme: str = "ServicePrincipal",
    url: str = "https://management.azure.com/",
    **parameters: str,
) -> ServiceConnection:
    data = {
        "subscriptionId": SUBSCRIPTION,
        "environment": "AzureCloud",
        "environmentAuthorityUrl": "https://login.windows.net/",
        "activeDirectoryServiceEndpointResourceId": "https://management.core.windows.net/",
    }
    return ServiceConnection(id="conn-1", url=url, scheme=scheme, parameters=parameters, data=data)


def spn_key(**extra: str) -> ServiceConnection:
    params = {
        "serviceprincipalid": CLIENT,
        "tenantid": TENANT,
        "authenticationType": "spnKey",
        "serviceprincipalkey": SECRET,
    }
    params.update(extra)
    return connection(**params)


def test_service_principal_with_key() -> None:
    parsed = parse_azurerm(spn_key())
    assert parsed.kind is AuthKind.SECRET
    assert (parsed.client_id, parsed.tenant_id, parsed.secret) == (CLIENT, TENANT, SECRET)
    assert parsed.subscription_id == SUBSCRIPTION
    assert parsed.arm_url == "https://management.azure.com"
    assert parsed.authority == "https://login.windows.net"
    assert parsed.arm_audience == "https://management.core.windows.net/"
    assert SECRET not in repr(parsed)


def test_parameter_names_are_case_insensitive_like_the_agent() -> None:
    parsed = parse_azurerm(
        connection(
            SERVICEPRINCIPALID=CLIENT,
            TenantId=TENANT,
            AUTHENTICATIONTYPE="spnKey",
            ServicePrincipalKey=SECRET,
        )
    )
    assert (parsed.kind, parsed.client_id, parsed.secret) == (AuthKind.SECRET, CLIENT, SECRET)


def test_service_principal_with_certificate() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    parsed = parse_azurerm(
        connection(
            serviceprincipalid=CLIENT,
            tenantid=TENANT,
            authenticationType="spnCertificate",
            servicePrincipalCertificate=pem,
        )
    )
    assert parsed.kind is AuthKind.CERTIFICATE
    assert parsed.certificate_pem == pem
    assert parsed.secret is None
    assert "BEGIN CERTIFICATE" not in repr(parsed)


def test_without_authentication_type_a_lone_certificate_means_certificate() -> None:
    parsed = parse_azurerm(
        connection(serviceprincipalid=CLIENT, tenantid=TENANT, servicePrincipalCertificate="PEM")
    )
    assert parsed.kind is AuthKind.CERTIFICATE


def test_without_authentication_type_a_key_means_key() -> None:
    parsed = parse_azurerm(
        connection(serviceprincipalid=CLIENT, tenantid=TENANT, serviceprincipalkey=SECRET)
    )
    assert parsed.kind is AuthKind.SECRET


def test_workload_identity_federation_needs_no_secret() -> None:
    parsed = parse_azurerm(
        connection(
            "WorkloadIdentityFederation",
            serviceprincipalid=CLIENT,
            tenantid=TENANT,
            workloadIdentityFederationSubject="sc://org/project/conn",
        )
    )
    assert parsed.kind is AuthKind.WORKLOAD_IDENTITY
    assert (parsed.client_id, parsed.tenant_id, parsed.secret) == (CLIENT, TENANT, None)


def test_managed_identity_client_id_comes_from_the_data() -> None:
    base = connection("ManagedServiceIdentity", tenantid=TENANT)
    user_assigned = ServiceConnection(
        id=base.id,
        url=base.url,
        scheme=base.scheme,
        parameters=base.parameters,
        data={**base.data, "msiclientId": CLIENT},
    )
    assert parse_azurerm(user_assigned).client_id == CLIENT
    system_assigned = parse_azurerm(base)
    assert system_assigned.kind is AuthKind.MANAGED_IDENTITY
    assert system_assigned.client_id is None


def test_active_directory_authority_wins_over_the_older_environment_authority() -> None:
    base = spn_key()
    both = ServiceConnection(
        id=base.id,
        url=base.url,
        scheme=base.scheme,
        parameters=base.parameters,
        data={**base.data, "activeDirectoryAuthority": "https://login.microsoftonline.com/"},
    )
    assert parse_azurerm(both).authority == "https://login.microsoftonline.com"


def test_missing_scheme_is_named() -> None:
    with pytest.raises(CloudConfigError, match=r"no authorization scheme .*ENDPOINT_AUTH_SCHEME"):
        parse_azurerm(connection(" ", serviceprincipalid=CLIENT))


def test_unknown_scheme_is_named_with_the_supported_ones() -> None:
    with pytest.raises(CloudConfigError) as error:
        parse_azurerm(connection("PublishProfile", publishProfile="<xml/>"))
    message = str(error.value)
    assert "'PublishProfile'" in message
    for scheme in ("ServicePrincipal", "WorkloadIdentityFederation", "ManagedServiceIdentity"):
        assert scheme in message


def test_every_missing_parameter_is_named_in_one_error_without_secrets() -> None:
    with pytest.raises(CloudConfigError) as error:
        parse_azurerm(connection(authenticationType="spnKey", serviceprincipalid=" "))
    message = str(error.value)
    assert "'serviceprincipalid'" in message
    assert "'tenantid'" in message
    assert "'serviceprincipalkey'" in message
    assert "conn-1" in message


def test_missing_certificate_is_named() -> None:
    with pytest.raises(CloudConfigError, match="'servicePrincipalCertificate'"):
        parse_azurerm(
            connection(
                serviceprincipalid=CLIENT, tenantid=TENANT, authenticationType="spnCertificate"
            )
        )


def test_unknown_authentication_type_is_named() -> None:
    with pytest.raises(CloudConfigError, match=r"'spnToken'.*'spnKey' or 'spnCertificate'"):
        parse_azurerm(connection(authenticationType="spnToken"))


def test_missing_url_is_named() -> None:
    bad = ServiceConnection(
        id="c", url="", scheme="ServicePrincipal", parameters=spn_key().parameters
    )
    with pytest.raises(CloudConfigError, match="ENDPOINT_URL"):
        parse_azurerm(bad)


def test_error_for_other_problems_never_carries_the_secret() -> None:
    with pytest.raises(CloudConfigError) as error:
        parse_azurerm(connection(serviceprincipalkey=SECRET, authenticationType="spnKey"))
    assert SECRET not in str(error.value)
