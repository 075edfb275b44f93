"""What a release run produced, stage by stage (read by the checks, console and report)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pytask.demo.agent import StepRun


@dataclass
class StageRun:
    name: str
    status: str = "skipped"  # succeeded | failed | skipped | missing
    steps: list[StepRun] = field(default_factory=list)
    seconds: float = 0.0
    started: float = 0.0  # epoch seconds, to line up with the sandbox's logs (bench_release)

    def step(self, name: str) -> StepRun | None:
        """The last step of that name (a lab step runs in preDeploy and again in deploy)."""
        found = [s for s in self.steps if s.name == name]
        return found[-1] if found else None


@dataclass
class ReleaseRun:
    version: str
    build_id: int
    stages: list[StageRun] = field(default_factory=list)

    def stage(self, name: str) -> StageRun:
        """The stage; one with status "missing" if the run never got to it."""
        return next((s for s in self.stages if s.name == name), StageRun(name, "missing"))
