"""The sandbox's TLS material: a CA and a server certificate for 127.0.0.1 and localhost,
generated once per state dir (trustme) and reused, so clients keep trusting STATE/ca.pem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca_pem: Path  # what clients trust (REQUESTS_CA_BUNDLE / SSL_CERT_FILE)
    cert_pem: Path  # server certificate chain
    key_pem: Path  # server private key


def ensure_tls(state_dir: Path) -> TlsFiles:
    files = TlsFiles(
        ca_pem=state_dir / "ca.pem",
        cert_pem=state_dir / "tls" / "server-chain.pem",
        key_pem=state_dir / "tls" / "server-key.pem",
    )
    if files.ca_pem.exists() and files.cert_pem.exists() and files.key_pem.exists():
        return files
    files.cert_pem.parent.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="pytask sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    server.private_key_pem.write_to_path(str(files.key_pem))
    with files.cert_pem.open("wb") as handle:
        for blob in server.cert_chain_pems:
            handle.write(blob.bytes())
    files.key_pem.chmod(0o600)
    # Written last: its presence means the set is complete.
    ca.cert_pem.write_to_path(str(files.ca_pem))
    return files
