"""The bad-input corpus (issue 9, reliability 5): for each task, inputs that are valid as a
whole (BASE) and cases that each break exactly one thing.

A case names the input its one error must name (`names`: the YAML name, shown by the product
as `(name)` or `'name'`) and words of the error that say what is valid (`says`). Inputs set to
None are left out, as when a pipeline does not set them; `files` are created in the sources
folder. `{sub}` stands for the sandbox's subscription id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUB = "{sub}"
VM = f"/subscriptions/{SUB}/resourceGroups/rg-bad/providers/Microsoft.Compute/virtualMachines/vm1"
VERSION_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-bad/providers/Microsoft.Compute/galleries/g"
    "/applications/app/versions/1.0.0"
)
LAB_ID = f"/subscriptions/{SUB}/resourceGroups/rg-bad/providers/Microsoft.DevTestLab/labs/lab1"
WORKSPACE = "6a1d4a3c-1111-4222-8333-944455556666"
LONG = "x" * 4097
RULE = "rule: {threshold: '< 1'}"
SOURCE = "source: {kind: kql, query: Heartbeat, baselineScope: "

BASE: dict[str, dict[str, str]] = {
    "PublishVmApp": {
        "resourceGroup": "rg-bad",
        "galleryName": "g",
        "applicationName": "app",
        "version": "1.0.0",
        "osType": "Linux",
        "package": "app.bin",
        "storageAccount": "badpkgs",
        "storageContainer": "packages",
        "installCommand": "./install.sh",
        "removeCommand": "./remove.sh",
        "targetRegions": "westeurope",
    },
    "DeployVmApp": {"action": "deploy", "targets": VM, "applicationVersionId": VERSION_ID},
    "HealthGate": {
        "targets": VM,
        "workspace": WORKSPACE,
        "checks": "[heartbeat, errorRate]",
        "initialDelaySeconds": "0",
        "durationMinutes": "0",
    },
    "DevTestLabEnv": {
        "action": "create",
        "kind": "vm",
        "lab": "lab1",
        "labResourceGroup": "rg-bad",
        "name": "vm1",
        "image": "Canonical:UbuntuServer:18.04-LTS",
        "size": "Standard_B2s",
        "userName": "azureuser",
        "password": "Corpus-Pa55word!",
    },
}
# Files every case's sources folder holds (the valid inputs above refer to them).
FILES = {
    "app.bin": "payload",
    "agent.json": '{"a": 1}',
    "checks.yml": "[heartbeat]",
    "params.json": '{"p": 1}',
    "empty.bin": "",
    "emptydir/.keep": None,
}


@dataclass(frozen=True)
class Case:
    task: str
    names: str
    says: str
    inputs: dict[str, str | None]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        shown = ",".join(f"{k}={(v or '')[:24]!r}" for k, v in self.inputs.items())
        return f"{self.task}[{shown}]"


def _cases(task: str, rows: list[tuple[str, str, dict[str, str | None]]]) -> list[Case]:
    return [Case(task, names, says, inputs) for names, says, inputs in rows]


EXPECTED = "expected"
REQUIRED = "is required"

PUBLISH = _cases(
    "PublishVmApp",
    [
        # missing required inputs
        ("resourceGroup", REQUIRED, {"resourceGroup": None}),
        ("galleryName", REQUIRED, {"galleryName": None}),
        ("applicationName", REQUIRED, {"applicationName": None}),
        ("version", REQUIRED, {"version": None}),
        ("installCommand", REQUIRED, {"installCommand": None}),
        ("removeCommand", REQUIRED, {"removeCommand": None}),
        ("azureSubscription", "service connection", {"azureSubscription": "no-such-conn"}),
        # names Azure refuses
        ("resourceGroup", EXPECTED, {"resourceGroup": "rg/with/slash"}),
        ("resourceGroup", EXPECTED, {"resourceGroup": "ends-with-dot."}),
        ("resourceGroup", EXPECTED, {"resourceGroup": "r" * 91}),
        ("galleryName", EXPECTED, {"galleryName": "has-hyphen"}),
        ("galleryName", EXPECTED, {"galleryName": "_leading"}),
        ("galleryName", EXPECTED, {"galleryName": "g" * 81}),
        ("applicationName", EXPECTED, {"applicationName": "bad name"}),
        ("applicationName", EXPECTED, {"applicationName": "-leading"}),
        ("applicationName", EXPECTED, {"applicationName": "trailing."}),
        ("applicationName", EXPECTED, {"applicationName": "a" * 81}),
        # bad versions
        ("version", EXPECTED, {"version": "1.0"}),
        ("version", EXPECTED, {"version": "v1.0.0"}),
        ("version", EXPECTED, {"version": "1.0.0-beta"}),
        ("version", EXPECTED, {"version": "1.0.0.0"}),
        ("version", EXPECTED, {"version": "1.-1.0"}),
        ("version", EXPECTED, {"version": "2147483648.0.0"}),
        ("version", EXPECTED, {"version": "latest"}),
        # pickLists and types
        ("osType", EXPECTED, {"osType": "Solaris"}),
        ("createApplication", EXPECTED, {"createApplication": "yes"}),
        ("scriptBehaviorAfterReboot", EXPECTED, {"scriptBehaviorAfterReboot": "Reboot"}),
        ("storageAccountType", EXPECTED, {"storageAccountType": "Premium_ZRS"}),
        ("ifVersionExists", EXPECTED, {"ifVersionExists": "replace"}),
        ("excludeFromLatest", EXPECTED, {"excludeFromLatest": "1"}),
        ("waitForReplication", EXPECTED, {"waitForReplication": "sometimes"}),
        (
            "allowDeletionOfReplicatedLocations",
            EXPECTED,
            {"allowDeletionOfReplicatedLocations": "no"},
        ),
        # numbers out of range
        ("replicaCount", EXPECTED, {"replicaCount": "0"}),
        ("replicaCount", EXPECTED, {"replicaCount": "11"}),
        ("replicaCount", EXPECTED, {"replicaCount": "two"}),
        ("replicaCount", EXPECTED, {"replicaCount": "1.5"}),
        ("timeoutMinutes", EXPECTED, {"timeoutMinutes": "0"}),
        ("timeoutMinutes", EXPECTED, {"timeoutMinutes": "100000"}),
        ("timeoutMinutes", EXPECTED, {"timeoutMinutes": "-5"}),
        # bad regions
        ("targetRegions", EXPECTED, {"targetRegions": "west-europe"}),
        ("targetRegions", EXPECTED, {"targetRegions": "westeurope:0"}),
        ("targetRegions", EXPECTED, {"targetRegions": "westeurope:2:Premium_ZRS"}),
        ("targetRegions", EXPECTED, {"targetRegions": "westeurope\nWest Europe"}),
        ("targetRegions", EXPECTED, {"targetRegions": "westeurope:1:Standard_LRS:extra"}),
        ("targetRegions", EXPECTED, {"targetRegions": "1westeurope"}),
        # storage
        ("storageAccount", EXPECTED, {"storageAccount": "Upper"}),
        ("storageAccount", EXPECTED, {"storageAccount": "ab"}),
        ("storageAccount", REQUIRED, {"storageAccount": None}),
        ("storageContainer", EXPECTED, {"storageContainer": "Packages"}),
        ("storageContainer", EXPECTED, {"storageContainer": "a--b"}),
        ("storageContainer", REQUIRED, {"storageContainer": None}),
        ("storageResourceGroup", EXPECTED, {"storageResourceGroup": "bad/group"}),
        # package: exactly one of package and packageUrl; files that must exist
        ("package", "exactly one", {"package": None}),
        ("package", "exactly one", {"packageUrl": "https://a.blob.core.windows.net/c1c/b"}),
        ("package", "does not exist", {"package": "missing.bin"}),
        ("package", "empty", {"package": "empty.bin"}),
        ("package", "no files", {"package": "emptydir"}),
        ("configFile", "does not exist", {"configFile": "missing.json"}),
        ("configFile", "expected a file", {"configFile": "emptydir"}),
        (
            "packageUrl",
            EXPECTED,
            {"package": None, "packageUrl": "http://a.blob.core.windows.net/c1c/b"},
        ),
        (
            "packageUrl",
            EXPECTED,
            {"package": None, "packageUrl": "https://a.blob.core.windows.net/c1c/b?sig=x"},
        ),
        (
            "packageUrl",
            EXPECTED,
            {"package": None, "packageUrl": "https://a.blob.core.windows.net/c1c"},
        ),
        ("packageUrl", EXPECTED, {"package": None, "packageUrl": "not a url"}),
        ("packageFileName", EXPECTED, {"packageFileName": "dir/app.bin"}),
        ("packageFileName", EXPECTED, {"packageFileName": ".."}),
        ("configFileName", EXPECTED, {"configFile": "agent.json", "configFileName": "a:b"}),
        # oversize commands
        ("installCommand", EXPECTED, {"installCommand": LONG}),
        ("removeCommand", EXPECTED, {"removeCommand": LONG}),
        ("updateCommand", EXPECTED, {"updateCommand": LONG}),
        # dates and URIs
        ("endOfLifeDate", EXPECTED, {"endOfLifeDate": "2020-01-01"}),
        ("endOfLifeDate", EXPECTED, {"endOfLifeDate": "next year"}),
        ("endOfLifeDate", EXPECTED, {"endOfLifeDate": "2030-13-01"}),
        (
            "applicationEndOfLifeDate",
            EXPECTED,
            {"applicationEndOfLifeDate": "1999-12-31T00:00:00Z"},
        ),
        ("privacyStatementUri", EXPECTED, {"privacyStatementUri": "ftp://example.com/p"}),
        ("releaseNoteUri", EXPECTED, {"releaseNoteUri": "example.com/notes"}),
        # tags: bad YAML/JSON objects
        ("tags", EXPECTED, {"tags": "[a, b]"}),
        ("tags", EXPECTED, {"tags": "{a: [1, 2]}"}),
        ("tags", EXPECTED, {"tags": "{a: null}"}),
        ("tags", EXPECTED, {"tags": "{'bad/name': 1}"}),
        ("tags", EXPECTED, {"tags": "{a: 1"}),
        ("tags", EXPECTED, {"tags": "just text"}),
        ("tags", EXPECTED, {"tags": "[" * 5000}),  # nesting past the recursion limit
        ("replicaCount", EXPECTED, {"replicaCount": "1" * 30}),
        ("tags", EXPECTED, {"tags": "{a: '" + "v" * 257 + "'}"}),
    ],
)

DEPLOY = _cases(
    "DeployVmApp",
    [
        ("action", EXPECTED, {"action": "upgrade"}),
        ("action", EXPECTED, {"action": "Deploy now"}),
        ("strategy", EXPECTED, {"strategy": "canary"}),
        ("batchSize", EXPECTED, {"batchSize": "0"}),
        ("batchSize", EXPECTED, {"batchSize": "0%"}),
        ("batchSize", EXPECTED, {"batchSize": "150%"}),
        ("batchSize", EXPECTED, {"batchSize": "-1"}),
        ("batchSize", EXPECTED, {"batchSize": "a few"}),
        ("batchSize", EXPECTED, {"batchSize": "2.5"}),
        ("maxFailures", EXPECTED, {"maxFailures": "-1"}),
        ("maxFailures", EXPECTED, {"maxFailures": "101%"}),
        ("maxFailures", EXPECTED, {"maxFailures": "none"}),
        ("maxFailures", EXPECTED, {"maxFailures": "%"}),
        ("pauseBetweenBatchesSeconds", EXPECTED, {"pauseBetweenBatchesSeconds": "soon"}),
        ("pauseBetweenBatchesSeconds", EXPECTED, {"pauseBetweenBatchesSeconds": "-3"}),
        ("rollbackOnFailure", EXPECTED, {"rollbackOnFailure": "maybe"}),
        ("treatFailureAsDeploymentFailure", EXPECTED, {"treatFailureAsDeploymentFailure": "y"}),
        ("enableAutomaticUpgrade", EXPECTED, {"enableAutomaticUpgrade": "on"}),
        ("order", EXPECTED, {"order": "first"}),
        ("order", EXPECTED, {"order": "-1"}),
        ("order", EXPECTED, {"order": "9" * 5000}),  # past int()'s digit limit
        ("rollbackState", EXPECTED, {"action": "rollback", "rollbackState": "[" * 5000}),
        ("timeoutMinutes", EXPECTED, {"timeoutMinutes": "0"}),
        ("timeoutMinutes", EXPECTED, {"timeoutMinutes": "1h"}),
        ("tagFilter", EXPECTED, {"targets": None, "resourceGroup": "rg-bad", "tagFilter": "env"}),
        ("tagFilter", EXPECTED, {"targets": None, "resourceGroup": "rg-bad", "tagFilter": "=x"}),
        ("tagFilter", "resourceGroup", {"tagFilter": "env=test"}),
        ("configurationReference", EXPECTED, {"configurationReference": "http://a/b.json"}),
        ("configurationReference", EXPECTED, {"configurationReference": "b.json"}),
        ("configurationReference", EXPECTED, {"configurationReference": "https://a/b c.json"}),
        # mutually exclusive or missing combinations
        ("targets", "not both", {"resourceGroup": "rg-bad"}),
        ("targets", "resourceGroup", {"targets": None}),
        ("applicationVersionId", "not both", {"galleryName": "g"}),
        ("applicationVersionId", "applicationName", {"applicationVersionId": None}),
        (
            "version",
            "latest",
            {
                "applicationVersionId": None,
                "galleryResourceGroup": "rg-bad",
                "galleryName": "g",
                "applicationName": "app",
            },
        ),
        ("rollbackState", "rollbackState", {"action": "rollback", "targets": None}),
        ("rollbackState", EXPECTED, {"action": "rollback", "rollbackState": "{not json"}),
        ("rollbackState", EXPECTED, {"action": "rollback", "rollbackState": "[1, 2]"}),
        ("rollbackState", EXPECTED, {"action": "rollback", "rollbackState": '{"version": 99}'}),
        # malformed resource ids
        ("targets", "JSON", {"targets": '["' + VM + '", 3]'}),
        ("targets", "JSON", {"targets": "[not json"}),
        ("targets", "resource id", {"targets": "vm1"}),
        ("targets", "resource id", {"targets": "/subscriptions/x/resourceGroups"}),
        ("targets", "resource id", {"targets": VM.replace("virtualMachines", "disks")}),
        ("applicationVersionId", "version id", {"applicationVersionId": "app/1.0.0"}),
        ("applicationVersionId", "version id", {"applicationVersionId": VERSION_ID + "/extra"}),
    ],
)

GATE = _cases(
    "HealthGate",
    [
        ("targets", REQUIRED, {"targets": None}),
        ("targets", "JSON", {"targets": "[oops"}),
        ("targets", "resource id", {"targets": "just-a-name"}),
        ("mode", EXPECTED, {"mode": "audit"}),
        ("inconclusiveResult", EXPECTED, {"inconclusiveResult": "Passed"}),
        ("initialDelaySeconds", EXPECTED, {"initialDelaySeconds": "-1"}),
        ("initialDelaySeconds", EXPECTED, {"initialDelaySeconds": "3m"}),
        ("intervalSeconds", EXPECTED, {"intervalSeconds": "0"}),
        ("intervalSeconds", EXPECTED, {"intervalSeconds": "1.5"}),
        ("durationMinutes", EXPECTED, {"durationMinutes": "-10"}),
        ("failureLimit", EXPECTED, {"failureLimit": "-1"}),
        ("failureLimit", EXPECTED, {"failureLimit": "none"}),
        ("inconclusiveLimit", EXPECTED, {"inconclusiveLimit": "x"}),
        ("consecutiveSuccessesToPass", EXPECTED, {"consecutiveSuccessesToPass": "-2"}),
        ("deploymentStartTime", EXPECTED, {"deploymentStartTime": "yesterday"}),
        ("deploymentStartTime", EXPECTED, {"deploymentStartTime": "2026-02-30T00:00:00Z"}),
        ("windowStart", EXPECTED, {"windowStart": "noon", "windowEnd": "2026-01-01T01:00:00Z"}),
        ("windowEnd", "windowStart", {"windowStart": "2026-01-01T01:00:00Z"}),
        (
            "windowEnd",
            "after",
            {"windowStart": "2026-01-01T02:00:00Z", "windowEnd": "2026-01-01T01:00:00Z"},
        ),
        ("workspace", "GUID", {"workspace": "my-workspace"}),
        ("workspace", "workspace", {"workspace": None}),
        ("checksFile", EXPECTED, {"checks": None, "checksFile": "missing.yml"}),
        # bad check definitions
        ("checks", "checks", {"checks": None}),
        ("checks", "YAML", {"checks": "[heartbeat"}),
        ("checks", "list", {"checks": "heartbeat: true"}),
        ("checks", "preset", {"checks": "[hartbeat]"}),
        ("checks", "unknown check key", {"checks": "[{preset: heartbeat, treshold: 3}]"}),
        ("checks", "source and a rule", {"checks": "[{name: mine}]"}),
        ("checks", "unique", {"checks": "[heartbeat, heartbeat]"}),
        ("checks", "metric", {"checks": "[{name: c, source: metric, " + RULE + "}]"}),
        ("checks", "query", {"checks": "[{name: q, source: kql, " + RULE + "}]"}),
        ("checks", "threshold", {"checks": "[{preset: heartbeat, rule: {nonsense: 1}}]"}),
        ("checks", "threshold", {"checks": "[{preset: heartbeat, rule: {threshold: 'about 3'}}]"}),
        ("checks", "mapping", {"checks": "[1, 2]"}),
        ("checks", "source kind", {"checks": "[{name: s, source: logs, " + RULE + "}]"}),
        ("checks", "shape", {"checks": "[{preset: heartbeat, shape: cube}]"}),
        ("checks", "baseline", {"checks": "[{preset: errorRate, rule: {baseline: median}}]"}),
        (
            "checks",
            "baselineScope",
            {"checks": "[{name: e, " + SOURCE + "nowhere}, " + RULE + "}]"},
        ),
        ("checks", "baselineTargets", {"checks": f"[{{name: e, {SOURCE}otherTargets}}, {RULE}}}]"}),
    ],
)

LAB = _cases(
    "DevTestLabEnv",
    [
        ("action", EXPECTED, {"action": "start"}),
        ("kind", EXPECTED, {"kind": "container"}),
        ("lab", REQUIRED, {"lab": None}),
        ("lab", EXPECTED, {"lab": "lab with spaces"}),
        (
            "lab",
            EXPECTED,
            {"lab": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/labs/l"},
        ),
        ("labResourceGroup", "resource id", {"labResourceGroup": None}),
        ("name", "required", {"name": None}),
        ("name", "not a valid vm name", {"name": "vm_1"}),
        ("name", "not a valid vm name", {"name": "-vm"}),
        (
            "name",
            "not a valid environment name",
            {"kind": "environment", "template": "t", "name": "env.1"},
        ),
        ("name", "62 characters", {"name": "v" * 60, "vmCount": "12"}),
        ("vmCount", EXPECTED, {"vmCount": "0"}),
        ("vmCount", EXPECTED, {"vmCount": "51"}),
        ("vmCount", EXPECTED, {"vmCount": "many"}),
        ("image", "required", {"image": None}),
        ("image", EXPECTED, {"image": "Canonical:UbuntuServer"}),
        ("image", EXPECTED, {"image": "a:b:c:d:e"}),
        ("password", "give one", {"password": None}),
        ("artifacts", EXPECTED, {"artifacts": "{a: 1}"}),
        ("artifacts", EXPECTED, {"artifacts": "[{artifact: x, params: {}}]"}),
        ("artifacts", EXPECTED, {"artifacts": "[{artifact: x, parameters: [1]}]"}),
        ("artifacts", EXPECTED, {"artifacts": "[{parameters: {a: 1}}]"}),
        ("artifacts", EXPECTED, {"artifacts": "[{artifact: x, parameters: {a: null}}]"}),
        ("artifacts", EXPECTED, {"artifacts": "[x, [y]]"}),
        ("artifacts", EXPECTED, {"artifacts": "- a\n - b: ["}),
        ("allowClaim", EXPECTED, {"allowClaim": "claimable"}),
        ("expiresInHours", EXPECTED, {"expiresInHours": "0"}),
        ("expiresInHours", EXPECTED, {"expiresInHours": "99999"}),
        ("tags", EXPECTED, {"tags": "[a]"}),
        ("tags", EXPECTED, {"tags": "{'a?b': 1}"}),
        ("tags", EXPECTED, {"tags": "{a: {b: 1}}"}),
        ("artifacts", EXPECTED, {"artifacts": "{a: " * 3000}),
        ("vmCount", EXPECTED, {"vmCount": "9" * 5000}),
        ("ifExists", EXPECTED, {"ifExists": "overwrite"}),
        ("cleanupOnFailure", EXPECTED, {"cleanupOnFailure": "always"}),
        ("timeoutMinutes", EXPECTED, {"timeoutMinutes": "0"}),
        ("timeoutMinutes", EXPECTED, {"timeoutMinutes": "20000"}),
        ("olderThanHours", EXPECTED, {"action": "sweep", "olderThanHours": "-1"}),
        ("dryRun", EXPECTED, {"action": "sweep", "dryRun": "perhaps"}),
        ("template", "required", {"kind": "environment", "name": "env1"}),
        (
            "parameters",
            EXPECTED,
            {"kind": "environment", "name": "env1", "template": "t", "parameters": "[1]"},
        ),
        (
            "parameters",
            EXPECTED,
            {"kind": "environment", "name": "env1", "template": "t", "parameters": "{a: [}"},
        ),
        (
            "parametersFile",
            "not a file",
            {"kind": "environment", "name": "env1", "template": "t", "parametersFile": "nope.json"},
        ),
    ],
)

CORPUS: list[Case] = [*PUBLISH, *DEPLOY, *GATE, *LAB]
