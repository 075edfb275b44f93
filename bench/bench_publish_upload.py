"""PublishVmApp's package upload against a plain azure-storage-blob upload of the same file to
the same Azurite (through the sandbox, Entra auth for both), with peak memory of each.

    python -m bench publish_upload          # 1 GiB
    BENCH_PUBLISH_UPLOAD_MB=64 python -m bench publish_upload

Reports (bench/record.py) the upload throughput of each, their ratio (ours / plain; >= 0.9
wanted), and the peak resident memory each added above the process's level before it: the
task must stay flat whatever the package size (< 200 MiB). The task hashes the package
(SHA-256 and MD5) before uploading, which the plain upload does not: that time is in the
details, not in the throughput. Both use the task's upload concurrency; the plain one keeps
the SDK's default block sizes and no per-block MD5.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from azure.storage.blob import BlobClient

from bench import record
from bench.record import Comparison
from pytask.cloud import CloudSession
from pytask.localrun import read_connection_file
from pytask.tasks.publish import package
from pytask.tasks.publish.blobs import CONCURRENCY, BlobStore

SIZE_MB = int(os.environ.get("BENCH_PUBLISH_UPLOAD_MB", "1024"))
GROUP, ACCOUNT, CONTAINER = "rg-bench", "benchpackages", "packages"
READY_TIMEOUT = 120.0
SEED = {
    "resourceGroups": [{"name": GROUP}],
    "storageAccounts": [
        {
            "name": ACCOUNT,
            "resourceGroup": GROUP,
            "allowSharedKeyAccess": False,
            "containers": [CONTAINER],
        }
    ],
}


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_rss_mb: float


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(work: Callable[[], None]) -> Measure:
    """Wall time of `work` and the highest RSS above the starting point while it ran."""
    baseline = _rss_bytes()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return Measure(seconds, (peak[0] - baseline) / 2**20)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox(state: Path) -> Iterator[Path]:
    """A sandbox with the bench's storage account; yields its ready-file."""
    seed, ready = state / "seed.yml", state / "ready.json"
    seed.write_text(yaml.safe_dump(SEED))
    command = [
        *(sys.executable, "-m", "pytask", "sandbox", "serve"),
        *("--port", str(_free_port()), "--state", str(state / "world")),
        *("--ready-file", str(ready), "--seed", str(seed), "--time-scale", "0.01"),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                error = server.stderr.read().decode() if server.stderr else ""
                raise RuntimeError(f"the sandbox did not start: {error[-2000:]}")
            time.sleep(0.1)
        yield ready
    finally:
        server.terminate()
        server.wait(timeout=30)


def write_file(path: Path, size_mb: int) -> None:
    chunk = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for index in range(size_mb):
            # Vary each MiB a little so no layer can deduplicate blocks.
            handle.write(index.to_bytes(8, "little") + chunk[8:])


def run(state: Path) -> None:
    # The sandbox's CA only while it runs: left in os.environ, it breaks the next benchmark's
    # pip (staging) once the sandbox's state folder is gone.
    with sandbox(state) as ready, pytest.MonkeyPatch.context() as patch:
        source = read_connection_file(ready, None)
        if source.ca_bundle is not None:
            patch.setenv("REQUESTS_CA_BUNDLE", str(source.ca_bundle))
            patch.setenv("SSL_CERT_FILE", str(source.ca_bundle))
        session = CloudSession.from_connection(source.connection)
        store = BlobStore.for_account(session, GROUP, ACCOUNT)
        store.ensure_container(CONTAINER)
        data = state / "package.bin"
        write_file(data, SIZE_MB)
        hashed: list[tuple[str, bytes]] = []
        hashing = measure(lambda: hashed.append(package.digests(data)))
        sha256, md5 = hashed[0]
        ours = measure(
            lambda: store.upload(
                store.ref(CONTAINER, "ours/package.bin"), data, sha256, _quiet, md5
            )
        )
        plain_client = BlobClient(
            store.account_url,
            CONTAINER,
            "plain/package.bin",
            credential=session.credential,
            audience=session.endpoints.storage_audience,
        )

        def plain_upload() -> None:
            with data.open("rb") as stream:
                plain_client.upload_blob(stream, overwrite=True, max_concurrency=CONCURRENCY)

        plain = measure(plain_upload)
        report(hashing, ours, plain)


def _quiet(done: int, total: int) -> None:
    return None


def report(hashing: Measure, ours: Measure, plain: Measure) -> None:
    size = f"{SIZE_MB} MiB"
    common = {"size_mb": SIZE_MB, "sha256_md5_seconds": round(hashing.seconds, 2)}
    record.report(
        Comparison(
            benchmark="publish_upload",
            measure=f"upload throughput, {size} package (upload only; hashing in details)",
            ours=SIZE_MB / ours.seconds,
            baseline=SIZE_MB / plain.seconds,
            baseline_label="plain BlobClient.upload_blob, same file, Azurite, concurrency",
            unit="MiB/s",
            target="ratio >= 0.9",
            met=ours.seconds * 0.9 <= plain.seconds,
            details={
                **common,
                "publish_upload_seconds": round(ours.seconds, 2),
                "plain_upload_seconds": round(plain.seconds, 2),
            },
        )
    )
    record.report(
        Comparison(
            benchmark="publish_upload",
            measure=f"peak resident memory added during the upload, {size} package",
            ours=ours.peak_rss_mb,
            baseline=plain.peak_rss_mb,
            baseline_label="plain BlobClient.upload_blob, measured after ours in one process",
            unit="MiB",
            target="ours < 200 MiB",
            met=ours.peak_rss_mb < 200,
            details={**common, "hashing_peak_rss_mb": round(hashing.peak_rss_mb, 1)},
        )
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as folder:
        run(Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
