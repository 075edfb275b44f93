"""Secrets never in logs (issue 9, reliability 4): the registry of known secrets and the scan.

Known secrets come from two kinds of file anywhere under the session's base temp directory:
- `issued-secrets.jsonl` in every sandbox state dir: what the sandbox issued or took in
  (pytask/sandbox/core/issued.py, docs/sandbox.md "Issued secrets");
- `supplied-secrets.jsonl` (one per pytest process, at its base temp): what the test helpers
  supplied (agent_env: SECRET_* variables, connection keys and certificates, access tokens)
  and every value a task registered with `##vso[task.setsecret]` (run_pytask).

At the end of the session (controller only under xdist) every file under the base temp root
is searched for every secret and its distinctive parts, except the files listed in
EXCLUDED_* below, which hold secrets by design. Task output is saved by run_pytask as the
agent's log would show it: the agent consumes `task.setsecret` lines and secret
`task.setvariable` lines (they carry the value to the agent and are never logged), so those
lines alone are left out of the saved copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote

ISSUED_NAME = "issued-secrets.jsonl"  # written by the sandbox (pytask/sandbox/core/issued.py)
SUPPLIED_NAME = "supplied-secrets.jsonl"  # written here
TASK_LOGS = "task-logs"

# Files that hold secrets by design, by name, each with why it may:
EXCLUDED_NAMES = {
    ISSUED_NAME: "the registry of sandbox-issued secrets itself",
    SUPPLIED_NAME: "the registry of test-supplied secrets itself",
    "world.json": "the sandbox's persisted cloud state: Azure's own store of keys and secrets",
    "gate.json": "the sandbox's account keys handed to its Azurite (Azure Storage's own store)",
    "__azurite_db_blob__.json": "Azurite's own database (stored SAS-free blob metadata, keys)",
    "__azurite_db_blob_extent__.json": "Azurite's own database (extent index)",
}
EXCLUDED_SUFFIXES = {
    ".ready.json": "a sandbox ready-file: the service connection (credentials) given to tests",
    ".seed.yml": "a world a test seeds the sandbox with: the credentials (PATs) it gives users",
    ".pem": "certificate and key files the sandbox (TLS) or tests created",
    ".key": "key files the tests created",
    ".pfx": "certificate files the tests created",
}
# Connection files (`pytask run --connection FILE`: a ready-file or a service connection as the
# agent passes it) are recognised by their JSON shape, whatever a test named them.
CONNECTION_KEYS = ({"connection"}, {"connections"}, {"scheme", "parameters"})
EXCLUDED_DIRS = {
    "__blobstorage__": "Azurite's blob contents: uploaded package bytes, data not logs",
}
# Shorter values (a test's toy password) are too likely to occur by chance to search for.
MIN_NEEDLE = 8
_SAS_SIG = re.compile(r"(?:^|[?&])sig=([^&\s\"']+)")
_JWT = re.compile(r"^eyJ[\w-]+\.[\w-]+\.([\w-]{16,})$")
_PEM_ARMOUR = "-----"

_lock = threading.Lock()
_base: Path | None = None
_pending: list[tuple[str, str]] = []
_log_counter = 0


# -- registering what the tests supply ------------------------------------------------------
def use_base(base: Path) -> None:
    """Called once per pytest process with its base temp directory."""
    global _base
    with _lock:
        _base = base
        pending, _pending[:] = list(_pending), []
    for kind, value in pending:
        register(kind, value)


def register(kind: str, value: str | None) -> None:
    """Remember a secret a test helper supplies, so that the session's scan looks for it."""
    if not value or not value.strip():
        return
    with _lock:
        if _base is None:
            _pending.append((kind, value))
            return
        with open(_base / SUPPLIED_NAME, "a", encoding="utf-8") as registry:
            registry.write(json.dumps({"kind": kind, "value": value}) + "\n")


def task_log_dir() -> Path | None:
    """Where run_pytask keeps each run's stdout and stderr (per test), or None outside pytest."""
    if _base is None:
        return None
    test = os.environ.get("PYTEST_CURRENT_TEST", "outside-a-test").split(" ")[0]
    folder = _base / TASK_LOGS / re.sub(r"[^\w.-]+", "_", test)[-120:]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_task_run(task: str, stdout: str, stderr: str) -> None:
    """Keep a task run's output as the agent's log would show it, after registering the
    secrets the task itself declared."""
    global _log_counter
    folder = task_log_dir()
    for kind, value in declared_secrets(stdout):
        register(kind, value)
    if folder is None:
        return
    with _lock:
        _log_counter += 1
        stem = folder / f"{os.getpid()}-{_log_counter:04d}-{task}"
    stem.with_suffix(".stdout.log").write_text(agent_log_view(stdout), encoding="utf-8")
    stem.with_suffix(".stderr.log").write_text(stderr, encoding="utf-8")


def declared_secrets(stdout: str) -> Iterator[tuple[str, str]]:
    """Values the task registered as secrets (`task.setsecret`, secret `task.setvariable`)."""
    from tests.helpers.vso import parse_command

    for line in re.split(r"\r\n|\r|\n", stdout):
        command = parse_command(line)
        if command is None:
            continue
        if command.name == "task.setsecret":
            yield "task-setsecret", command.message
        elif command.name == "task.setvariable" and _is_secret_variable(command.properties):
            yield "task-secret-variable", command.message


def agent_log_view(stdout: str) -> str:
    """stdout without the lines the agent consumes and never logs (secret carriers)."""
    from tests.helpers.vso import parse_command

    kept = []
    for line in stdout.splitlines(keepends=True):
        command = parse_command(line)
        carrier = command is not None and (
            command.name == "task.setsecret"
            or (command.name == "task.setvariable" and _is_secret_variable(command.properties))
        )
        if not carrier:
            kept.append(line)
    return "".join(kept)


def _is_secret_variable(properties: dict[str, str]) -> bool:
    return any(k.lower() == "issecret" and v.lower() == "true" for k, v in properties.items())


# -- the scan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Needle:
    text: str
    kind: str  # e.g. "access-token"
    part: str  # e.g. "JWT signature segment"


@dataclass
class ScanReport:
    files_scanned: int = 0
    secrets_known: int = 0
    needles: int = 0
    skipped_short: int = 0
    hits: list[tuple[str, str, str]] = field(default_factory=list)  # file, kind, part

    def message(self, root: Path) -> str:
        lines = [f"{len(self.hits)} secret(s) found in logs or reports under {root}:"]
        lines += [f"  {file}: {kind} ({part})" for file, kind, part in self.hits]
        return "\n".join(lines)


def known_secrets(root: Path) -> list[tuple[str, str]]:
    """Every (kind, value) registered under `root`, without repeats."""
    found: dict[tuple[str, str], None] = {}
    for name in (ISSUED_NAME, SUPPLIED_NAME):
        for path in root.rglob(name):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a killed process
                found[(str(entry["kind"]), str(entry["value"]))] = None
    return list(found)


def needles_for(kind: str, value: str) -> list[Needle]:
    """The secret and its distinctive parts, each also as it would look percent-encoded in a
    URL and escaped in a logging command."""
    parts: list[tuple[str, str]] = []
    lines = [line.strip() for line in value.strip().splitlines()]
    if len(lines) == 1:
        parts.append((lines[0], "whole value"))
    else:  # a PEM private key (maybe followed by its public certificate): each body line
        parts += [(line, "a line of it") for line in _secret_lines(lines)]
    jwt = _JWT.match(value.strip())
    if jwt:
        parts.append((jwt.group(1), "JWT signature segment"))
    for signature in _SAS_SIG.findall(value):
        parts.append((signature, "SAS sig= value"))
        parts += [(decoded, "SAS sig= value") for decoded in parse_qs(f"s={signature}")["s"]]
    if value.strip().endswith("=") and len(lines) == 1:
        parts.append((value.strip().rstrip("="), "base64 key without padding"))
    needles: dict[str, Needle] = {}
    for text, part in parts:
        for form in (text, quote(text, safe=""), quote(text, safe="/"), _vso_escape(text)):
            if len(form) >= MIN_NEEDLE and form not in needles:
                needles[form] = Needle(form, kind, part)
    return list(needles.values())


def _secret_lines(lines: list[str]) -> list[str]:
    """The body lines of PEM PRIVATE KEY blocks (a certificate beside it is public), or
    every line of a multi-line secret that is not PEM at all."""
    if not any(line.startswith(_PEM_ARMOUR) for line in lines):
        return [line for line in lines if line]
    kept, inside = [], False
    for line in lines:
        if line.startswith(_PEM_ARMOUR):
            inside = line.startswith("-----BEGIN") and "PRIVATE KEY" in line
        elif inside and line:
            kept.append(line)
    return kept


def _vso_escape(text: str) -> str:
    text = text.replace("%", "%AZP25").replace(";", "%3B").replace("]", "%5D")
    return text.replace("\r", "%0D").replace("\n", "%0A")


def excluded(path: Path) -> bool:
    name = path.name
    if name in EXCLUDED_NAMES or any(name.endswith(s) for s in EXCLUDED_SUFFIXES):
        return True
    return any(part in EXCLUDED_DIRS for part in path.parts) or _connection_file(path)


def _connection_file(path: Path) -> bool:
    """A service connection description: the credential store a task is given, as the
    agent's own endpoint store is (not a log)."""
    if path.suffix != ".json" or path.stat().st_size > 1_000_000:
        return False
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and any(keys <= document.keys() for keys in CONNECTION_KEYS)


def files_to_scan(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and not excluded(p)]


def scan(root: Path) -> ScanReport:
    secrets = known_secrets(root)
    report = ScanReport(secrets_known=len(secrets))
    needles: dict[str, Needle] = {}
    for kind, value in secrets:
        found = needles_for(kind, value)
        report.skipped_short += not found
        needles.update({n.text: n for n in found if n.text not in needles})
    report.needles = len(needles)
    files = files_to_scan(root)
    report.files_scanned = len(files)
    if not needles or not files:
        return report
    for path in _files_with_any(files, list(needles)):
        text = path.read_text(encoding="utf-8", errors="replace")
        seen = {(n.kind, n.part) for n in needles.values() if n.text in text}
        report.hits += [(str(path.relative_to(root)), kind, part) for kind, part in sorted(seen)]
    return report


def _files_with_any(files: list[Path], needles: list[str]) -> Iterable[Path]:
    """The files containing at least one needle: GNU/BSD grep's fixed-string matcher (an
    Aho-Corasick-like search for thousands of needles at once); plain Python without grep."""
    grep = shutil.which("grep")
    if grep is None:
        return [p for p in files if _contains_any(p, needles)]
    hits: list[Path] = []
    with tempfile.TemporaryDirectory() as folder:  # outside the scanned tree
        patterns = Path(folder) / "needles"
        patterns.write_text("\n".join(needles) + "\n", encoding="utf-8")
        for start in range(0, len(files), 500):
            batch = [str(p) for p in files[start : start + 500]]
            done = subprocess.run(
                [grep, "-laFs", "-f", str(patterns), "--", *batch],
                capture_output=True,
                check=False,
            )
            hits += [Path(line) for line in done.stdout.decode().splitlines() if line]
    return hits


def _contains_any(path: Path, needles: list[str]) -> bool:
    text = path.read_text(encoding="utf-8", errors="replace")
    return any(n in text for n in needles)
