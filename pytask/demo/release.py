"""The release templates/vm-app-release.yml describes, run stage by stage as Azure Pipelines
would run it: Publish, then per environment a runOnce deployment (preDeploy, deploy,
postRouteTraffic, on.failure) and, for a lab, a cleanup job that always runs. A stage runs
only if the stages it depends on succeeded; hooks hand each other their outputs the way the
template does (the release record), and stages through `stageDependencies`."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytask.demo import world
from pytask.demo.agent import Agent, StepRun

CONNECTION = "azure-vmapps"  # the service connection's name in the pipeline
GATE_CHECKS = [
    "heartbeat",
    {"name": "errorRate", "preset": "errorRate", "rule": {"threshold": "< 0.05"}},
    {"name": "latencyP95", "preset": "latencyP95", "rule": {"threshold": "< 300"}},
    "cpu",
]


@dataclass(frozen=True)
class Environment:
    name: str
    scale_set: str | None = None  # targets; None: a DevTest Labs environment
    batch_size: str = "20%"
    gate: bool = True


ENVIRONMENTS = (
    Environment("dev", gate=False),
    Environment("test", world.TEST_SCALE_SET, batch_size="50%"),
    Environment("prod", world.PROD_SCALE_SET, batch_size="25%"),
)


@dataclass
class StageRun:
    name: str
    status: str = "skipped"  # succeeded | failed | skipped
    steps: list[StepRun] = field(default_factory=list)
    seconds: float = 0.0

    def step(self, name: str) -> StepRun | None:
        return next((s for s in self.steps if s.name == name), None)


@dataclass
class ReleaseRun:
    version: str
    build_id: int
    stages: list[StageRun] = field(default_factory=list)

    def stage(self, name: str) -> StageRun:
        """The stage; one with status "missing" if the run never got to it."""
        return next((s for s in self.stages if s.name == name), StageRun(name, "missing"))


class StepFailed(Exception):
    pass


@dataclass
class Release:
    agent: Agent
    sandbox: world.Sandbox
    say: Callable[[str], None]
    connection_id: str

    def run(self, version: str, build_id: int, package: str) -> ReleaseRun:
        run = ReleaseRun(version, build_id)
        publish = self._stage(run, "Publish", lambda stage: self._publish(stage, run, package))
        published = publish.step("publishApp")
        version_id = published.outputs.get("applicationVersionId", "") if published else ""
        previous_ok = publish.status == "succeeded"
        for env in ENVIRONMENTS:
            if not previous_ok:
                run.stages.append(StageRun(env.name))
                self.say(f"\n== Stage {env.name}: skipped (an earlier stage did not succeed)")
                continue
            stage = self._stage(
                run,
                env.name,
                functools.partial(self._deploy, run=run, env=env, version_id=version_id),
            )
            previous_ok = stage.status == "succeeded"
        return run

    # ------------------------------------------------------------------ plumbing

    def _stage(self, run: ReleaseRun, name: str, body: Callable[[StageRun], None]) -> StageRun:
        stage = StageRun(name)
        run.stages.append(stage)
        self.say(f"\n== Stage {name} ({run.version}, build {run.build_id})")
        started = time.monotonic()
        try:
            body(stage)
            stage.status = "succeeded"
        except StepFailed:
            stage.status = "failed"
        stage.seconds = time.monotonic() - started
        self.say(f"== Stage {name}: {stage.status} in {stage.seconds:.1f} s")
        return stage

    def _step(
        self,
        stage: StageRun,
        run: ReleaseRun,
        job: str,
        task: str,
        name: str,
        inputs: Mapping[str, str],
        must_succeed: bool = True,
    ) -> StepRun:
        variables = {
            "Build.BuildId": str(run.build_id),
            "Build.BuildNumber": f"20261126.{run.build_id}",
            "Build.DefinitionName": "vm-app-release",
            "System.DefinitionId": "7",
            "System.StageName": stage.name,
            "System.JobName": job,
            "System.StageAttempt": "1",
        }
        self.say(f"   -> {job}: {task}@1 ({name})")
        step = self.agent.run(
            task,
            f"{job}-{name}",
            {"azureSubscription": self.connection_id, **inputs},
            variables,
            lambda line: self.say(f"      {line}"),
        )
        step.name = name
        stage.steps.append(step)
        self.say(f"   <- {name}: {step.result} in {step.seconds:.1f} s")
        if must_succeed and not step.succeeded:
            raise StepFailed(name)
        return step

    # ------------------------------------------------------------------ stages

    def _publish(self, stage: StageRun, run: ReleaseRun, package: str) -> None:
        self._step(
            stage,
            run,
            "publishVersion",
            "PublishVmApp",
            "publishApp",
            {
                "resourceGroup": world.RG,
                "galleryName": world.GALLERY,
                "applicationName": world.APP,
                "version": run.version,
                "osType": "Linux",
                "package": package,
                "storageAccount": world.STORAGE,
                "storageContainer": world.CONTAINER,
                "storageResourceGroup": world.RG,
                "installCommand": f"tar -xzf {world.APP} && ./install.sh",
                "removeCommand": f"rm -rf /opt/{world.APP}",
                "applicationDescription": "Contoso web front end (demo)",
            },
        )

    def _deploy(self, stage: StageRun, run: ReleaseRun, env: Environment, version_id: str) -> None:
        lab_name = f"rel-{env.name}-{run.build_id}"
        try:
            self._deployment_job(stage, run, env, version_id, lab_name)
        finally:
            if env.scale_set is None:
                self._lab_step(stage, run, "labCleanup", "labDelete", lab_name, "delete")

    def _deployment_job(
        self, stage: StageRun, run: ReleaseRun, env: Environment, version_id: str, lab: str
    ) -> None:
        record: dict[str, str] = {}
        try:
            if env.scale_set is None:  # preDeploy
                self._lab_step(stage, run, "release", "lab", lab, "create")
            deploy = self._deploy_hook(stage, run, env, version_id, lab)
            record = {
                k: deploy.outputs.get(k, "")
                for k in ("rollbackState", "deployedTargets", "deploymentStartTime")
            }
            if not deploy.succeeded:
                raise StepFailed("deployApp")
            if env.gate:  # postRouteTraffic, from the release record
                self._step(
                    stage,
                    run,
                    "release",
                    "HealthGate",
                    "healthGate",
                    {
                        "targets": record["deployedTargets"],
                        "deploymentStartTime": record["deploymentStartTime"],
                        "workspace": self.sandbox.workspace_id(),
                        "checks": json.dumps(GATE_CHECKS),
                        "initialDelaySeconds": "2",
                        "intervalSeconds": "2",
                        "durationMinutes": "1",
                        "consecutiveSuccessesToPass": "2",
                    },
                )
        except StepFailed:
            if record.get("rollbackState"):  # on.failure
                self._step(
                    stage,
                    run,
                    "release",
                    "DeployVmApp",
                    "rollback",
                    {
                        "action": "rollback",
                        "rollbackState": record["rollbackState"],
                    },
                )
            raise

    def _deploy_hook(
        self, stage: StageRun, run: ReleaseRun, env: Environment, version_id: str, lab: str
    ) -> StepRun:
        if env.scale_set is None:
            lab_step = self._lab_step(stage, run, "release", "lab", lab, "create")
            targets = lab_step.outputs.get("vmResourceIds", "")
        else:
            targets = json.dumps([self.sandbox.scale_set_id(env.scale_set)])
        return self._step(
            stage,
            run,
            "release",
            "DeployVmApp",
            "deployApp",
            {
                "action": "deploy",
                "applicationVersionId": version_id,
                "targets": targets,
                "strategy": "batched",
                "batchSize": env.batch_size,
                "maxFailures": "0",
            },
            must_succeed=False,
        )

    def _lab_step(
        self, stage: StageRun, run: ReleaseRun, job: str, name: str, lab: str, action: str
    ) -> StepRun:
        inputs: dict[str, Any] = {
            "action": action,
            "kind": "environment",
            "lab": world.LAB,
            "labResourceGroup": world.LAB_RG,
            "name": lab,
        }
        if action == "create":
            parameters = {"vmCount": 2, "namePrefix": "dev", "adminPassword": "Demo-Passw0rd!"}
            inputs.update(
                {
                    "artifactSource": "Team templates",
                    "template": "LinuxVMs",
                    "parameters": json.dumps(parameters),
                    "ifExists": "reuse",
                    "expiresInHours": "4",
                }
            )
        return self._step(stage, run, job, "DevTestLabEnv", name, inputs)
