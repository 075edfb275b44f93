"""What the agent hands a task through its environment, read once at start-up.

The agent passes inputs as `INPUT_<NAME>`, variables as `<NAME>` (secret ones as
`SECRET_<NAME>`), and service connections as `ENDPOINT_*`. Like task-lib's vault, we read
the sensitive ones up front and remove them from `os.environ` so no child process inherits
them; the values stay in memory for the task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from pytask.agent.connection import ServiceConnection

SYSTEM_VSS_CONNECTION = "SYSTEMVSSCONNECTION"

# Prefixes that carry inputs or secrets: taken out of the process environment at start-up.
SCRUBBED_PREFIXES = ("INPUT_", "ENDPOINT_AUTH_", "SECRET_")
# A secret variable the user mapped into the step's env (`env: SYSTEM_ACCESSTOKEN: ...`).
SCRUBBED_NAMES = ("SYSTEM_ACCESSTOKEN",)

# Auth parameters that identify rather than authenticate; every other parameter is masked,
# so an unknown scheme's parameters are treated as secret.
NON_SECRET_PARAMETERS = frozenset(
    {
        "tenantid",
        "serviceprincipalid",
        "authenticationtype",
        "scope",
        "clientid",
        "workloadidentityfederationissuer",
        "workloadidentityfederationsubject",
        "workloadidentityfederationissuertype",
        "serviceprincipalcertificatepath",
        "roleassignmentid",
        "username",
    }
)


def env_name(name: str) -> str:
    """A variable or input name as the agent spells it in the environment."""
    return name.replace(".", "_").replace(" ", "_").upper()


@dataclass(frozen=True)
class AgentEnvironment:
    """A snapshot of the task's environment (public and secret parts kept apart)."""

    public: Mapping[str, str]
    scrubbed: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def capture(cls, environ: MutableMapping[str, str] | None = None) -> AgentEnvironment:
        """Snapshot `environ` (default os.environ) and remove the sensitive entries from it."""
        env = os.environ if environ is None else environ
        scrubbed = {k: v for k, v in env.items() if _is_scrubbed(k)}
        for key in scrubbed:
            del env[key]
        return cls(public=dict(env), scrubbed=scrubbed)

    # -- variables -----------------------------------------------------------------------
    def variable(self, name: str) -> str | None:
        """A job variable by its pipeline name (`System.Debug`), public or secret."""
        key = env_name(name)
        if key in self.public:
            return self.public[key]
        secret = self.scrubbed.get("SECRET_" + key)
        if secret is not None:
            return secret
        return self.scrubbed.get(key)

    def input_value(self, name: str) -> str | None:
        """The raw `INPUT_<NAME>` value, or None when the agent did not set it at all."""
        return self.scrubbed.get("INPUT_" + env_name(name))

    # -- service connections -------------------------------------------------------------
    def endpoint(self, endpoint_id: str) -> ServiceConnection | None:
        key = self._endpoint_key(endpoint_id)
        if key is None:
            return None
        scheme, parameters = self._endpoint_auth(key)
        return ServiceConnection(
            id=endpoint_id,
            url=self.public.get("ENDPOINT_URL_" + key, ""),
            scheme=scheme,
            parameters=parameters,
            data=self._endpoint_data(key),
        )

    @property
    def access_token(self) -> str | None:
        """The job's OAuth token: SystemVssConnection, else System.AccessToken if mapped."""
        token = self.scrubbed.get(f"ENDPOINT_AUTH_PARAMETER_{SYSTEM_VSS_CONNECTION}_ACCESSTOKEN")
        if not token:
            system = self.endpoint(SYSTEM_VSS_CONNECTION)
            token = system.parameter("AccessToken") if system else None
        return token or self.variable("System.AccessToken") or None

    def secret_values(self) -> list[str]:
        """Every secret value in the environment, to register before anything is printed."""
        values = [v for k, v in self.scrubbed.items() if k.startswith("SECRET_")]
        values += [self.scrubbed.get(name, "") for name in SCRUBBED_NAMES]
        for key in self._endpoint_keys():
            _, parameters = self._endpoint_auth(key)
            values += [v for k, v in parameters.items() if k.lower() not in NON_SECRET_PARAMETERS]
        return [v for v in values if v and v.strip()]

    def _endpoint_keys(self) -> list[str]:
        keys = {k[len("ENDPOINT_URL_") :] for k in self.public if k.startswith("ENDPOINT_URL_")}
        keys |= {
            k[len("ENDPOINT_AUTH_SCHEME_") :]
            for k in self.scrubbed
            if k.startswith("ENDPOINT_AUTH_SCHEME_")
        }
        return sorted(keys)

    def _endpoint_key(self, endpoint_id: str) -> str | None:
        wanted = endpoint_id.strip().lower()
        if not wanted:
            return None
        for key in self._endpoint_keys():
            if key.lower() == wanted:
                return key
        return None

    def _endpoint_auth(self, key: str) -> tuple[str, dict[str, str]]:
        raw = self.scrubbed.get("ENDPOINT_AUTH_" + key)
        parsed = _json_object(raw)
        parameters = _string_map(parsed.get("parameters"))
        scheme = str(parsed.get("scheme") or self.scrubbed.get("ENDPOINT_AUTH_SCHEME_" + key, ""))
        prefix = f"ENDPOINT_AUTH_PARAMETER_{key}_"
        known = {k.lower() for k in parameters}
        for name, value in self.scrubbed.items():
            if name.startswith(prefix) and name[len(prefix) :].lower() not in known:
                parameters[name[len(prefix) :]] = value
        return scheme, parameters

    def _endpoint_data(self, key: str) -> dict[str, str]:
        data = _string_map(_json_object(self.public.get("ENDPOINT_DATA_" + key)))
        prefix = f"ENDPOINT_DATA_{key}_"
        known = {k.lower() for k in data}
        for name, value in self.public.items():
            if name.startswith(prefix) and name[len(prefix) :].lower() not in known:
                data[name[len(prefix) :]] = value
        return data


def _is_scrubbed(key: str) -> bool:
    return key.startswith(SCRUBBED_PREFIXES) or key in SCRUBBED_NAMES


def _json_object(raw: str | None) -> dict[str, object]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _string_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}
