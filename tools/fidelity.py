"""Run the unmodified Azure CLI against the sandbox, configured only as a custom cloud.

The question this answers: would `az`, registered with `az cloud register
--endpoint-resource-manager <sandbox ARM URL>` and trusting the sandbox CA through
`REQUESTS_CA_BUNDLE`, work as it does against Azure? Each step is one `az` command an
operator would type; it passes when the command exits 0 and its output says what Azure's would.
Known gaps are steps that must fail in a stated way (an Azure CLI bug reproduced faithfully, or
a custom-cloud limit of the CLI): if one starts passing, the report says so.

    python tools/fidelity.py [--az .venv-az/bin/az] [--pytask .venv/bin/pytask] [--json FILE]
                             [--workdir NEW_DIR]

Exit code 0 when every step behaved as expected. The Azure CLI's own config lives in a
temporary AZURE_CONFIG_DIR, so the user's ~/.azure is never read or written.
See docs/sandbox-fidelity.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AZ = ROOT / ".venv-az" / "bin" / "az"
DEFAULT_PYTASK = ROOT / ".venv" / "bin" / "pytask"
START_TIMEOUT = 90.0
STEP_TIMEOUT = 120.0

# The world the script works on: what it creates itself goes into rg-fid; the VM, scale set,
# workspace and lab are seeded (the CLI cannot create a VM on the sandbox: no images, no disks).
SEED = """\
resourceGroups:
  - {name: rg-app, location: eastus}
  - {name: rg-lab, location: eastus}
labs:
  - name: dtl-test
    resourceGroup: rg-lab
    repositories:
      - {name: team-repo, path: "builtin:sample-repository"}
virtualMachines:
  - {name: web-1, resourceGroup: rg-app, installSeconds: 30}
scaleSets:
  - {name: web-vmss, resourceGroup: rg-app, instances: 2, upgradePolicy: Manual,
     installSeconds: 30}
  - {name: roll-vmss, resourceGroup: rg-app, instances: 2, upgradePolicy: Rolling,
     installSeconds: 30, rollingUpgradePolicy: {maxBatchInstancePercent: 50}}
  - {name: fail-vmss, resourceGroup: rg-app, instances: 1, upgradePolicy: Automatic,
     installSeconds: 30}
workspaces:
  - name: law-app
    resourceGroup: rg-app
    machines:
      - computer: web-1
        resourceId: /subscriptions/{subscriptionId}/resourceGroups/rg-app/providers/\
Microsoft.Compute/virtualMachines/web-1
        versions:
          - {application: webapp, version: "1.0.0", since: -600}
"""

# The one instance whose application install fails, as a broken package would.
FAULTS = """\
rules: []
vmApplicationFailures:
  - instances: ["fail-vmss/0"]
"""

# An ARM template as people write them (a comment included): the CLI sends the file's text.
TEMPLATE = """{
  // a storage account for the release's packages
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"name": {"type": "string"}},
  "resources": [{
    "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
    "name": "[parameters('name')]", "location": "[resourceGroup().location]",
    "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"
  }],
  "outputs": {"id": {
    "type": "string",
    "value": "[resourceId('Microsoft.Storage/storageAccounts', parameters('name'))]"
  }}
}
"""

PACKAGE = "#!/bin/sh\necho webapp 1.0.0 installed\n"

# A check reads a command's stdout, with the run's variables to format what it expects.
Check = Callable[[str, Mapping[str, str]], bool]


def equals(expected: str) -> Check:
    return lambda out, values: out.strip() == expected.format(**values)


def contains(*needles: str) -> Check:
    return lambda out, values: all(n.format(**values) in out for n in needles)


def lines_include(*names: str) -> Check:
    return lambda out, values: set(names) <= set(out.split())


@dataclass(frozen=True)
class Step:
    """One `az` command. Its words are formatted with the run's variables (`{arm_url}`, …);
    `save` stores the trimmed stdout under that variable for later steps. A step with
    `refused` passes when Azure's error code `refused` makes the command fail (Azure refuses it
    too). A step with `known` is a documented gap: it must fail with `known_error` in its
    output."""

    name: str
    command: str
    check: Check | None = None
    save: str | None = None
    refused: str | None = None
    managed_identity: bool = False  # run with the host's managed identity endpoint (App Service)
    known: str | None = None
    known_error: str = ""


@dataclass
class Result:
    name: str
    command: str
    outcome: str  # pass | fail | known | fixed (a known gap that now works)
    seconds: float
    detail: str = ""
    known: str | None = None


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.outcome in ("pass", "known") for r in self.results)


def steps() -> list[Step]:
    """The script, in the order an operator would run it. Commands are shell words; `{name}`
    is a run variable (`{{` and `}}` are literal braces)."""
    rg, gallery, app = "rg-fid", "galfid", "webapp"
    version = f"--gallery-name {gallery} --application-name {app} -g {rg}"
    blob = "--blob-endpoint {blob} -c packages"
    vmapp_status = "extensions[?name=='VMAppExtension'].statuses[0].message"
    query = "Heartbeat | summarize n = count() by Computer"
    return [
        # A custom cloud, as for Azure Stack Hub: only the ARM URL is given.
        Step(
            "register the cloud (ARM metadata discovery)",
            "cloud register -n Sandbox --endpoint-resource-manager {arm_url}",
        ),
        Step(
            "endpoints discovered from /metadata/endpoints",
            "cloud show -n Sandbox --query endpoints.activeDirectory -o tsv",
            equals("{authority}"),
        ),
        # MSAL checks an authority it does not know with login.microsoftonline.com; this is
        # the CLI's documented switch for custom clouds (Azure Stack).
        Step(
            "no instance discovery (custom authority)", "config set core.instance_discovery=false"
        ),
        Step("make it the active cloud", "cloud set -n Sandbox"),
        # Identity.
        Step(
            "login: service principal with certificate",
            "login --service-principal -u {cert_client_id} --certificate {cert_file}"
            " --tenant {tenant_id} -o none",
        ),
        # Workload identity federation, as AzureCLI@2 does it in a pipeline: the job's token buys
        # an OIDC token from Azure DevOps, which Entra exchanges.
        Step(
            "Azure DevOps OIDC token for the service connection",
            "rest --method post --url {oidc_request_uri}?api-version=7.1&serviceConnectionId="
            "{wif_connection_id} --skip-authorization-header --headers"
            " 'Authorization=Bearer {system_access_token}' --query oidcToken -o tsv",
            contains("."),
            save="oidc_token",
        ),
        Step(
            "login: workload identity federation (--federated-token)",
            "login --service-principal -u {wif_client_id} --tenant {tenant_id}"
            " --federated-token {oidc_token} -o none",
        ),
        Step(
            "account show (the federated identity)",
            "account show --query user.name -o tsv",
            equals("{wif_client_id}"),
        ),
        # A managed identity, as on a self-hosted agent in Azure (App Service-style endpoint).
        Step(
            "login: managed identity (--identity)",
            "login --identity --client-id {mi_client_id} --query [0].user.name -o tsv",
            equals("userAssignedIdentity"),
            managed_identity=True,
        ),
        Step(
            "group list as the managed identity",
            "group list --query [].name -o tsv",
            lines_include("rg-app"),
            managed_identity=True,
        ),
        Step(
            "login: service principal with secret",
            "login --service-principal -u {client_id} -p {secret} --tenant {tenant_id} -o none",
        ),
        Step("account show", "account show --query id -o tsv", equals("{subscription_id}")),
        Step(
            "ARM access token",
            "account get-access-token --query tokenType -o tsv",
            equals("Bearer"),
        ),
        # Resource groups.
        Step(
            "group create",
            f"group create -n {rg} -l eastus --tags purpose=fidelity"
            " --query properties.provisioningState -o tsv",
            equals("Succeeded"),
        ),
        Step("group show", f"group show -n {rg} --query tags.purpose -o tsv", equals("fidelity")),
        Step("group list", "group list --query [].name -o tsv", lines_include(rg, "rg-app")),
        Step(
            "group update --tags",
            f"group update -n {rg} --tags purpose=fidelity stage=cli --query tags.stage -o tsv",
            equals("cli"),
        ),
        Step("group list --tag", "group list --tag stage=cli --query [].name -o tsv", equals(rg)),
        Step("group exists", f"group exists -n {rg}", equals("true")),
        # Storage: ARM, then blobs with Entra.
        Step(
            "storage account create (202 + Location, polled)",
            f"storage account create -n {{account}} -g {rg} -l eastus --sku Standard_LRS"
            " --kind StorageV2 --allow-shared-key-access false --query provisioningState -o tsv",
            equals("Succeeded"),
        ),
        Step(
            "storage account show (primaryEndpoints.blob)",
            f"storage account show -n {{account}} -g {rg} --query primaryEndpoints.blob -o tsv",
            contains("/{account}/"),
            save="blob",
        ),
        Step(
            "storage account keys list",
            f"storage account keys list -n {{account}} -g {rg} --query [].keyName -o tsv",
            lines_include("key1", "key2"),
        ),
        Step(
            "storage account list",
            f"storage account list -g {rg} --query [].name -o tsv",
            equals("{account}"),
        ),
        Step(
            "storage account check-name (taken)",
            "storage account check-name -n {account} --query reason -o tsv",
            equals("AlreadyExists"),
        ),
        Step(
            "storage account update --tags",
            f"storage account update -n {{account}} -g {rg}"
            " --tags team=apps --query tags.team -o tsv",
            equals("apps"),
        ),
        Step(
            "storage account keys renew",
            f"storage account keys renew -n {{account}} -g {rg}"
            " --key key2 --query [].keyName -o tsv",
            lines_include("key1", "key2"),
        ),
        Step(
            "storage account keys list (a value)",
            f"storage account keys list -n {{account}} -g {rg} --query [0].value -o tsv",
            save="key",
        ),
        Step(
            "container create --auth-mode login",
            "storage container create -n packages --blob-endpoint {blob} --auth-mode login"
            " --query created -o tsv",
            equals("true"),
        ),
        Step(
            "blob upload --auth-mode login",
            f"storage blob upload {blob} -n webapp/1.0.0/webapp.sh -f {{package}}"
            " --auth-mode login -o none",
        ),
        Step(
            "blob list --auth-mode login",
            f"storage blob list {blob} --auth-mode login --query [].name -o tsv",
            equals("webapp/1.0.0/webapp.sh"),
        ),
        Step(
            "account key refused (allowSharedKeyAccess false)",
            f"storage blob upload {blob} -n other.sh -f {{package}} --account-key {{key}} -o none",
            refused="KeyBasedAuthenticationNotPermitted",
        ),
        Step(
            "user delegation SAS (generate-sas --as-user)",
            f"storage blob generate-sas {blob} -n webapp/1.0.0/webapp.sh --permissions r"
            " --expiry {expiry} --as-user --auth-mode login --full-uri -o tsv",
            contains("skoid=", "sig="),
            save="sas",
        ),
        Step(
            "blob download through the SAS URL",
            "storage blob download --blob-url {sas} -f {download} -o none",
        ),
        # Compute Gallery.
        Step(
            "sig create",
            f"sig create -g {rg} -r {gallery} -l eastus --query provisioningState -o tsv",
            equals("Succeeded"),
        ),
        Step("sig show", f"sig show -g {rg} -r {gallery} --query name -o tsv", equals(gallery)),
        Step(
            "gallery-application create",
            f"sig gallery-application create -g {rg} -r {gallery} -n {app} --os-type Linux"
            " -l eastus --query supportedOSType -o tsv",
            equals("Linux"),
        ),
        Step(
            "gallery-application update",
            f"sig gallery-application update -g {rg} -r {gallery}"
            f" -n {app} --description 'web front end' --query description -o tsv",
            equals("web front end"),
        ),
        Step(
            "gallery-application list",
            f"sig gallery-application list -g {rg} -r {gallery} --query [].name -o tsv",
            equals(app),
        ),
        Step(
            "version create (package from the SAS URL)",
            f"sig gallery-application version create {version} -n 1.0.0 -l eastus"
            " --package-file-link {sas} --install-command 'sh webapp.sh' --remove-command true"
            " --target-regions [{{name:eastus,regional-replica-count:1}}]"
            " --query provisioningState -o tsv",
            equals("Succeeded"),
        ),
        Step(
            "version show --expand ReplicationStatus",
            f"sig gallery-application version show {version} -n 1.0.0"
            " --expand ReplicationStatus --query replicationStatus.aggregatedState -o tsv",
            equals("Completed"),
        ),
        Step(
            "version list",
            f"sig gallery-application version list {version} --query [].name -o tsv",
            equals("1.0.0"),
        ),
        Step(
            "version update (end of life, exclude from latest)",
            f"sig gallery-application version update {version} -n 1.0.0"
            " --package-file-link {sas} --end-of-life-date 2030-01-01T00:00:00Z"
            " --exclude-from true --query publishingProfile.excludeFromLatest -o tsv",
            equals("true"),
        ),
        Step(
            "resource list -g",
            f"resource list -g {rg} --query [].type -o tsv",
            lines_include("Microsoft.Compute/galleries", "Microsoft.Storage/storageAccounts"),
        ),
        Step(
            "version id",
            f"sig gallery-application version show {version} -n 1.0.0 --query id -o tsv",
            contains("/versions/1.0.0"),
            save="version_id",
        ),
        # VM applications on the seeded VM and scale set.
        Step(
            "vm application set",
            "vm application set -g rg-app -n web-1"
            " --app-version-ids {version_id} --order-applications -o none",
        ),
        Step(
            "vm application list",
            "vm application list -g rg-app -n web-1"
            " --query galleryApplications[0].packageReferenceId -o tsv",
            equals("{version_id}"),
        ),
        Step(
            "vm get-instance-view (VMAppExtension status)",
            f'vm get-instance-view -g rg-app -n web-1 --query "instanceView.{vmapp_status}" -o tsv',
            contains('"applicationName": "webapp"', "Install SUCCESS"),
        ),
        Step(
            "vm show",
            "vm show -g rg-app -n web-1"
            " --query applicationProfile.galleryApplications[0].order -o tsv",
            equals("1"),
        ),
        Step(
            "vm list (Azure/azure-cli#31910)",
            "vm list -g rg-app --query [].name -o tsv",
            known="the CLI cannot flatten a VM whose `resources` lists an extension"
            " (Azure/azure-cli#31910, open); Azure's answer carries them too",
            known_error="Conflict key when apply client flatten",
        ),
        Step(
            "vm show -d (NICs, power state)",
            "vm show -d -g rg-app -n web-1 --query powerState -o tsv",
            equals("VM running"),
        ),
        Step(
            "vm list-ip-addresses (no public IPs)",
            "vm list-ip-addresses -g rg-app -n web-1",
            known="the sandbox emulates no public IP addresses (no task reads them)",
            known_error="publicIPAddresses",
        ),
        Step(
            "vmss list",
            "vmss list -g rg-app --query [].name -o tsv",
            lines_include("web-vmss", "roll-vmss"),
        ),
        Step(
            "vmss show",
            "vmss show -g rg-app -n web-vmss --query upgradePolicy.mode -o tsv",
            equals("Manual"),
        ),
        Step(
            "vmss list-instances",
            "vmss list-instances -g rg-app -n web-vmss --query [].instanceId -o tsv",
            lines_include("0", "1"),
        ),
        Step(
            "vmss application set",
            "vmss application set -g rg-app -n web-vmss --app-version-ids {version_id} -o none",
        ),
        Step(
            "vmss update-instances --instance-ids '*'",
            "vmss update-instances -g rg-app -n web-vmss --instance-ids * -o none",
        ),
        Step(
            "vmss get-instance-view (VMAppExtension status)",
            f"vmss get-instance-view -g rg-app -n web-vmss --instance-id 1"
            f' --query "{vmapp_status}" -o tsv',
            contains("Install SUCCESS"),
        ),
        Step(
            "vmss instances on the latest model",
            "vmss list-instances -g rg-app -n web-vmss --query [].latestModelApplied -o tsv",
            equals("true\ntrue"),
        ),
        Step(
            "vmss application set (Rolling policy rolls it out)",
            "vmss application set -g rg-app -n roll-vmss --app-version-ids {version_id} -o none",
        ),
        Step(
            "vmss rolling-upgrade get-latest",
            "vmss rolling-upgrade get-latest -g rg-app"
            " -n roll-vmss --query runningStatus.code -o tsv",
            equals("Completed"),
        ),
        Step(
            "vmss list-instances --expand instanceView",
            "vmss list-instances -g rg-app"
            f' -n roll-vmss --expand instanceView --query "[].instanceView.{vmapp_status}"'
            " -o tsv",
            contains("Install SUCCESS"),
        ),
        Step(
            "vmss rolling-upgrade start (OS image upgrade)",
            "vmss rolling-upgrade start -g rg-app -n roll-vmss",
            known="OS image rolling upgrades (osRollingUpgrade) are not emulated; application"
            " changes roll out by the scale set's policy, as above",
            known_error="InvalidResourceType",
        ),
        Step(
            "vmss application set --treat-deployment-as-failure (install fails)",
            "vmss application set -g rg-app -n fail-vmss --app-version-ids {version_id}"
            " --treat-deployment-as-failure true -o none",
            refused="VMExtensionProvisioningError",
        ),
        Step(
            "vmss get-instance-view (the failure, per application)",
            "vmss get-instance-view -g rg-app -n fail-vmss --instance-id 0"
            f' --query "{vmapp_status}" -o tsv',
            contains('"applicationName": "webapp"', "Install FAILED"),
        ),
        # Azure Monitor.
        Step(
            "log-analytics workspace show",
            "monitor log-analytics workspace show -g rg-app -n law-app --query customerId -o tsv",
            save="workspace_id",
        ),
        Step(
            "log-analytics query (an extension)",
            "monitor log-analytics query -w {workspace_id} --analytics-query 'Heartbeat'",
            known="`az monitor log-analytics query` is in the log-analytics extension, which"
            " the CLI downloads from outside PyPI; az rest below asks the same API",
            known_error="misspelled or not recognized",
        ),
        Step(
            "Log Analytics query (az rest --resource)",
            "rest --method post --url {log_analytics}/v1/workspaces/{workspace_id}/query"
            " --resource {log_analytics} --body"
            f' \'{{{{"query": "{query}", "timespan": "PT1H"}}}}\''
            " --query tables[0].rows[*][0] -o tsv",
            lines_include("web-1", "web-vmss000000"),
        ),
        Step(
            "monitor metrics list (Percentage CPU)",
            "monitor metrics list --resource {vm_id} --metric 'Percentage CPU' --interval PT1M"
            " --aggregation Average --query value[0].name.value -o tsv",
            equals("Percentage CPU"),
        ),
        Step(
            "monitor metrics list-definitions",
            "monitor metrics list-definitions --resource {vm_id} --query [].name.value -o tsv",
            known="metric definitions are not emulated (HealthGate names its metrics)",
            known_error="InvalidResourceType",
        ),
        Step(
            "alerts (az rest, relative ARM URL)",
            "rest --url /subscriptions/{subscription_id}/providers/Microsoft.AlertsManagement"
            "/alerts?api-version=2019-05-05-preview --query length(value)",
            equals("0"),
        ),
        Step(
            "resources of a group (az rest)",
            f"rest --url /subscriptions/{{subscription_id}}/resourceGroups/{rg}/resources"
            "?api-version=2021-04-01 --query value[].type -o tsv",
            lines_include("Microsoft.Compute/galleries", "Microsoft.Storage/storageAccounts"),
        ),
        # ARM template deployments.
        Step(
            "deployment group validate",
            f"deployment group validate -g {rg} --template-file"
            " {template} --parameters name={account}d --query properties.provisioningState"
            " -o tsv",
            equals("Succeeded"),
        ),
        Step(
            "deployment group create (template with a comment)",
            f"deployment group create -g {rg} -n fid --template-file {{template}}"
            " --parameters name={account}d --query properties.outputs.id.value -o tsv",
            contains("/storageAccounts/{account}d"),
        ),
        Step(
            "deployment group show",
            f"deployment group show -g {rg} -n fid --query properties.provisioningState -o tsv",
            equals("Succeeded"),
        ),
        Step(
            "deployment group list",
            f"deployment group list -g {rg} --query [].name -o tsv",
            equals("fid"),
        ),
        Step(
            "deployment operation group list",
            f"deployment operation group list -g {rg}"
            " -n fid --query [].properties.provisioningState -o tsv",
            equals("Succeeded"),
        ),
        # Clean up, as a pipeline would.
        # DevTest Labs (the `az lab` commands are in preview in the CLI).
        Step(
            "lab get",
            "lab get -g rg-lab --name dtl-test --query provisioningState -o tsv",
            equals("Succeeded"),
        ),
        Step(
            "lab artifact-source list",
            "lab artifact-source list -g rg-lab --lab-name dtl-test --query [].name -o tsv",
            lines_include("team-repo"),
        ),
        Step(
            "lab arm-template list",
            "lab arm-template list -g rg-lab --lab-name dtl-test"
            " --artifact-source-name team-repo --query [].name -o tsv",
            lines_include("LinuxVMs"),
        ),
        Step(
            "lab arm-template contents (az rest)",
            "rest --url /subscriptions/{subscription_id}/resourceGroups/rg-lab/providers"
            "/Microsoft.DevTestLab/labs/dtl-test/artifactsources/team-repo/armtemplates"
            "/LinuxVMs?api-version=2018-09-15 --query properties.contents.contentVersion -o tsv",
            equals("1.0.0.0"),
        ),
        Step(
            "lab environment list",
            "lab environment list -g rg-lab --lab-name dtl-test --query length(@)",
            equals("0"),
        ),
        Step(
            "lab vm list --all",
            "lab vm list -g rg-lab --lab-name dtl-test --all --query length(@)",
            equals("0"),
        ),
        Step(
            "lab vm list (Microsoft Graph)",
            "lab vm list -g rg-lab --lab-name dtl-test",
            known="without --all the CLI asks Microsoft Graph for the signed-in object;"
            " the sandbox serves no Graph",
            known_error="graph.sandbox.local",
        ),
        Step(
            "lab gallery-image list",
            "lab gallery-image list -g rg-lab --lab-name dtl-test",
            known="lab gallery images (marketplace image list) are not emulated",
            known_error="InvalidResourceType",
        ),
        Step("version delete", f"sig gallery-application version delete {version} -n 1.0.0 --yes"),
        Step(
            "gallery-application delete",
            f"sig gallery-application delete -g {rg} -r {gallery} -n {app} --yes",
        ),
        Step("sig delete", f"sig delete -g {rg} -r {gallery}"),
        Step("storage account delete", f"storage account delete -n {{account}} -g {rg} --yes"),
        Step("group delete (202 + Location, polled)", f"group delete -n {rg} --yes"),
        Step("group exists after delete", f"group exists -n {rg}", equals("false")),
    ]


# --- running ---------------------------------------------------------------------------------
@contextmanager
def sandbox(pytask: Path, workdir: Path) -> Iterator[dict[str, Any]]:
    """`pytask sandbox serve` on a free port with SEED; yields the ready-file."""
    seed, faults, ready = workdir / "seed.yml", workdir / "faults.yml", workdir / "ready.json"
    seed.write_text(SEED)
    faults.write_text(FAULTS)
    state = workdir / "state"
    command = [str(pytask), "sandbox", "serve", "--port", "0", "--state", str(state)]
    command += ["--ready-file", str(ready), "--time-scale", "0.01", "--seed", str(seed)]
    command += ["--faults", str(faults)]
    with (workdir / "sandbox.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start; see {workdir / 'sandbox.log'}")
            time.sleep(0.1)
        yield json.loads(ready.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def variables(ready: Mapping[str, Any], workdir: Path) -> dict[str, str]:
    """What the steps are formatted with: the ready-file's cloud and principals, files."""
    spn, cert = ready["principals"]["spnKey"], ready["principals"]["spnCertificate"]
    wif = ready["connections"]["workloadIdentityFederation"]
    cert_file, package = workdir / "spn-cert.pem", workdir / "webapp.sh"
    cert_file.write_text(cert["certificate"])
    package.write_text(PACKAGE)
    (workdir / "template.json").write_text(TEMPLATE)
    expiry = datetime.now(timezone.utc) + timedelta(hours=2)
    subscription = ready["subscription_id"]
    return {
        "arm_url": ready["arm_url"],  # with its trailing slash, as a user would paste it
        "authority": ready["authority_url"].rstrip("/"),
        "tenant_id": ready["tenant_id"],
        "subscription_id": subscription,
        "client_id": spn["client_id"],
        "secret": spn["secret"],
        "cert_client_id": cert["client_id"],
        "cert_file": str(cert_file),
        "wif_client_id": wif["parameters"]["serviceprincipalid"],
        "mi_client_id": ready["connections"]["managedIdentity"]["data"]["msiclientId"],
        "wif_connection_id": wif["id"],
        "oidc_request_uri": wif["variables"]["System.OidcRequestUri"],
        "system_access_token": wif["variables"]["System.AccessToken"],
        "identity_endpoint": ready["managed_identity"]["IDENTITY_ENDPOINT"],
        "identity_header": ready["managed_identity"]["IDENTITY_HEADER"],
        "package": str(package),
        "template": str(workdir / "template.json"),
        "download": str(workdir / "downloaded.sh"),
        "account": "stfidelity" + subscription[:6].replace("-", ""),
        "expiry": expiry.strftime("%Y-%m-%dT%H:%MZ"),
        "log_analytics": ready["base_url"],
        "vm_id": f"/subscriptions/{subscription}/resourceGroups/rg-app/providers/"
        "Microsoft.Compute/virtualMachines/web-1",
    }


def cli_environment(ready: Mapping[str, Any], config_dir: Path) -> dict[str, str]:
    """The only things that point the CLI at the sandbox: its own config dir and the CA."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_"))}
    env.update(
        AZURE_CONFIG_DIR=str(config_dir),
        REQUESTS_CA_BUNDLE=ready["ca_bundle"],
        SSL_CERT_FILE=ready["ca_bundle"],
        AZURE_CORE_COLLECT_TELEMETRY="false",
        AZURE_CORE_NO_COLOR="true",
        AZURE_CORE_SURVEY_MESSAGE="false",
    )
    return env


def managed_identity_env(values: Mapping[str, str]) -> dict[str, str]:
    """The managed identity endpoint a host in Azure would have (App Service style)."""
    return {
        "IDENTITY_ENDPOINT": values["identity_endpoint"],
        "IDENTITY_HEADER": values["identity_header"],
    }


def masked(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def run_step(step: Step, az: Path, env: Mapping[str, str], values: dict[str, str]) -> Result:
    if step.managed_identity:
        env = {**env, **managed_identity_env(values)}
    try:
        argv = [word.format(**values) for word in shlex.split(step.command)]
    except KeyError as missing:
        detail = f"needs {missing} from an earlier step that failed"
        return Result(step.name, step.command, "fail", 0.0, detail, step.known)
    secret_names = ("secret", "system_access_token", "oidc_token", "identity_header", "key", "sas")
    secrets = [values[name] for name in secret_names if name in values]
    shown = masked(shlex.join(["az", *argv]), secrets)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [str(az), *argv], env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        code, out, err = -1, "", f"timed out after {STEP_TIMEOUT:.0f}s"
    seconds = time.monotonic() - started
    if step.refused is not None:
        worked = code != 0 and step.refused in out + err
    else:
        worked = code == 0 and (step.check is None or step.check(out, values))
    if worked and step.save:
        values[step.save] = out.strip()
    detail = "" if worked else masked((err.strip() or out.strip())[-1500:], secrets)
    if step.known is None:
        outcome = "pass" if worked else "fail"
    elif worked:
        outcome = "fixed"
    else:
        outcome = "known" if step.known_error in out + err else "fail"
    return Result(step.name, shown, outcome, round(seconds, 2), detail, step.known)


def run_all(az: Path, pytask: Path, workdir: Path) -> Run:
    run = Run()
    with sandbox(pytask, workdir) as ready:
        values = variables(ready, workdir)
        env = cli_environment(ready, workdir / "azure-config")
        for step in steps():
            result = run_step(step, az, env, values)
            run.results.append(result)
            print(f"{result.outcome:>5}  {result.seconds:6.2f}s  {result.name}", flush=True)
            if result.outcome == "fail":
                print(f"       {result.command}\n       {result.detail}", flush=True)
    return run


def report(run: Run) -> str:
    counts = {o: sum(r.outcome == o for r in run.results) for o in ("pass", "known", "fixed")}
    failed = len(run.results) - sum(counts.values())
    lines = [
        f"{len(run.results)} steps: {counts['pass']} pass, {failed} fail, {counts['known']} "
        f"known gaps, {counts['fixed']} known gaps that now work"
    ]
    lines += [f"  known: {r.name}: {r.known}" for r in run.results if r.outcome == "known"]
    lines += [f"  FIXED?: {r.name}: {r.known}" for r in run.results if r.outcome == "fixed"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--az", type=Path, default=DEFAULT_AZ)
    parser.add_argument("--pytask", type=Path, default=DEFAULT_PYTASK)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--workdir", type=Path, help="keep the sandbox state and CLI config here")
    args = parser.parse_args(argv)
    if not args.az.exists():
        print(f"no Azure CLI at {args.az}: run `make fidelity`", file=sys.stderr)
        return 2
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=False)
        run = run_all(args.az, args.pytask, args.workdir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
            run = run_all(args.az, args.pytask, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in run.results], indent=2) + "\n")
    print(report(run))
    return 0 if run.ok else 1


if __name__ == "__main__":
    sys.exit(main())
