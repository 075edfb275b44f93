"""The tags every resource this task creates carries: which pipeline, run and stage made it,
when, and when it expires (what `sweep` reads back)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pytask.agent import Variables

PIPELINE = "vmapp.pipeline"
PIPELINE_NAME = "vmapp.pipelineName"
RUN = "vmapp.run"
STAGE = "vmapp.stage"
CREATED = "vmapp.createdAt"
EXPIRES = "vmapp.expiresAt"


@dataclass(frozen=True)
class Origin:
    """This pipeline as tags can name it: collection/project/definition, so that two
    projects' pipelines with the same id never sweep each other's environments."""

    pipeline: str
    pipeline_name: str
    run: str
    stage: str

    @classmethod
    def from_variables(cls, variables: Variables) -> Origin:
        parts = [
            variables.get("System.CollectionId") or "local",
            variables.get("System.TeamProjectId") or variables.get("System.TeamProject") or "",
            variables.get("System.DefinitionId") or "0",
        ]
        return cls(
            pipeline="/".join(parts),
            pipeline_name=(variables.get("Build.DefinitionName") or "")[:256],
            run=variables.get("Build.BuildId") or "",
            stage=variables.get("System.StageName") or "",
        )

    def owns(self, tags: Mapping[str, str] | None) -> bool:
        return bool(tags) and (tags or {}).get(PIPELINE) == self.pipeline


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def tags_for(
    origin: Origin, extra: Mapping[str, str], now: datetime, expires_in_hours: int
) -> dict[str, str]:
    """The user's tags plus ours (ours win: sweep depends on them)."""
    ours = {
        PIPELINE: origin.pipeline,
        PIPELINE_NAME: origin.pipeline_name,
        RUN: origin.run,
        STAGE: origin.stage,
        CREATED: stamp(now),
        EXPIRES: stamp(now + timedelta(hours=expires_in_hours)),
    }
    return {**dict(extra), **{k: v for k, v in ours.items() if v}}
