"""Transport security: does an endpoint speak TLS, and can a client verify its certificate?

"Can verify" means what a real client does: check the chain against the CA it trusts and the name it
dialled against the certificate. What the client trusts comes from the inventory (`tls.ca_file`,
`tls.server_name`), or from a lab CA the harness makes for the run and issues the device a certificate
from (`tls.lab_ca`), or else from the system trust store. A certificate the client cannot verify is a
finding, never a pass.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ivv.errors import ProfileError
from ivv.rpc.client import tls_context
from ivv.targets.base import quote

SYSTEM_STORE = "system trust store"


@dataclass(frozen=True)
class Trust:
    """What the checking client trusts: a CA bundle (None: the system store) and the name it expects."""

    ca_file: str | None
    server_name: str | None
    source: str

    @classmethod
    def for_target(cls, target, default_name: str | None = None, lab: LabCa | None = None) -> Trust:
        """What a client of `target` trusts: the inventory's `tls.ca_file` when it names one, else the
        run's lab CA when one issued the certificate, else the system trust store."""
        options = getattr(target, "tls", None) or {}
        name = options.get("server_name") or default_name
        if options.get("ca_file"):
            return cls(str(options["ca_file"]), name, f"inventory tls.ca_file {Path(options['ca_file']).name}")
        if lab is not None:
            return lab.trust(name)
        return cls(None, name, SYSTEM_STORE)


@dataclass(frozen=True)
class TransportPlan:
    """How the transport check reaches the environment it judges on a target."""

    current: str                 # the target's own environment
    environment: str | None      # the one judged (None: not checkable here, `reason` says why)
    redeploy: bool = False       # deploy `environment` for the check (and `current` again after)
    lab_ca: bool = False         # place a lab-CA certificate first
    reason: str = ""


def transport_plan(profile, target) -> TransportPlan:
    """Production is judged when the profile has it (what the profile says about its TLS is not
    trusted: the handshake is measured), else an environment with TLS on. A stack ivv deploys is
    deployed in that environment for the check; a service ivv did not deploy is judged as it runs,
    and only when it is reached over TLS (there is no other environment to deploy)."""
    current = getattr(target, "environment", None) or "staging"
    options = getattr(target, "tls", None) or {}
    if profile.endpoint_only:
        if profile.tls(current):
            return TransportPlan(current, current)
        return TransportPlan(current, None, reason=(
            f"{target.name}: the service ivv did not deploy is reached without TLS in its {current} environment and "
            "ivv cannot deploy another; point the endpoint at the production wss:// address to check transport "
            "security"))
    if "production" in profile.environments:
        environment = "production"
    else:
        environment = current if profile.tls(current) else next(
            (e for e in profile.environments if e != "local" and profile.tls(e)), None)
    if environment is None:
        return TransportPlan(current, None, reason=(
            f"{profile.path}: no production environment and no environment with rpc.tls on: nothing says "
            "where transport security is expected"))
    lab = bool(options.get("lab_ca"))
    return TransportPlan(current, environment, redeploy=environment != current or lab, lab_ca=lab)


class LabCa:
    """A certificate authority made for one run (trustme): issues device certificates. Its own key stays
    in memory; only the CA certificate is written, for the checking client."""

    def __init__(self, folder: Path):
        import trustme

        self._ca = trustme.CA(organization_name="ivv lab CA")
        self.folder = Path(folder)
        self.ca_file = self.folder / "lab-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))

    def issue(self, *names: str, not_after: dt.datetime | None = None) -> tuple[bytes, bytes]:
        """(certificate chain PEM, private key PEM) for `names` (DNS names or IP addresses)."""
        leaf = self._ca.issue_cert(*names, not_after=not_after)
        return b"".join(p.bytes() for p in leaf.cert_chain_pems), leaf.private_key_pem.bytes()

    def write_pair(self, *names: str, not_after: dt.datetime | None = None) -> tuple[Path, Path]:
        """Issue and write server.crt / server.key into the folder (key mode 0600)."""
        cert, key = self.issue(*names, not_after=not_after)
        cert_path, key_path = self.folder / "server.crt", self.folder / "server.key"
        cert_path.write_bytes(cert)
        _write_private(key_path, key)
        return cert_path, key_path

    def trust(self, server_name: str) -> Trust:
        return Trust(str(self.ca_file), server_name, "lab CA made for this run")


def speaks_tls(host: str, port: int, timeout: float = 5.0) -> tuple[bool | None, dict]:
    """Does `host:port` complete a TLS handshake? (None: nothing listens.) Certificate not verified:
    the question is whether TLS is on, not whose certificate it is (that is `inspect`)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            try:
                with _reader().wrap_socket(raw, server_hostname=host) as tls:
                    return True, {"tls": True, "version": tls.version(), "cipher": tls.cipher()[0]}
            except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
                return False, {"tls": False, "handshake": f"{type(exc).__name__}: {exc}"[:200]}
    except OSError as exc:
        return None, {"tls": None, "connect": f"{type(exc).__name__}: {exc}"[:200]}


def _reader() -> ssl.SSLContext:
    """A context that completes any handshake, to read what is served (never to judge it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only (the mode is set before the bytes land)."""
    path.touch(mode=0o600)
    path.write_bytes(data)


def certificate_facts(der: bytes) -> dict:
    """Subject, issuer, validity, names and fingerprint of a DER certificate (cryptography.x509)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.DNSName)] + \
                [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "self_signed": cert.subject == cert.issuer,
            "not_before": cert.not_valid_before_utc.isoformat(), "not_after": cert.not_valid_after_utc.isoformat(),
            "san": names, "sha256": cert.fingerprint(hashes.SHA256()).hex()}


def inspect(host: str, port: int, trust: Trust, timeout: float = 5.0) -> dict:
    """Two handshakes with `host:port`: one that only reads what is served (protocol, cipher,
    certificate), one that verifies chain and name as a client following `trust` would.

    Returns the facts with `tls` (False: no handshake), `verified` and, when it fails, `verify_error`.
    """
    name = trust.server_name or host
    facts: dict = {"endpoint": f"{host}:{port}", "server_name": name, "trust": trust.source}
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                _reader().wrap_socket(raw, server_hostname=name) as tls:
            facts.update(tls=True, protocol=tls.version(), cipher=tls.cipher()[0])
            der = tls.getpeercert(binary_form=True)
    except (ssl.SSLError, OSError) as exc:
        facts.update(tls=False, verified=False, handshake=f"{type(exc).__name__}: {exc}"[:300])
        return facts
    if der:
        facts["certificate"] = certificate_facts(der)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                tls_context(verify=True, ca_file=trust.ca_file).wrap_socket(raw, server_hostname=name):
            facts["verified"] = True
    except ssl.SSLCertVerificationError as exc:
        facts.update(verified=False, verify_error=exc.verify_message or str(exc))
    except (ssl.SSLError, OSError) as exc:
        facts.update(verified=False, verify_error=f"{type(exc).__name__}: {exc}"[:300])
    return facts


def certificate_paths(profile) -> Mapping[str, str]:
    """Where the stack on a device reads its certificate and key (profile `rpc.certificate`)."""
    paths = profile.rpc.get("certificate")
    if not paths:
        raise ProfileError(f"{profile.path}: rpc.certificate is not given: the harness cannot place a "
                           "certificate for the device (say where the stack reads `cert` and `key`)")
    return paths


def provision(target, profile, cert_pem: bytes, key_pem: bytes) -> dict:
    """Place an issued certificate and key where the stack reads them: root-owned, the key readable
    only by the profile's `group`. The key travels as a file, never on a command line."""
    paths = certificate_paths(profile)
    group = paths.get("group", "root")
    with tempfile.TemporaryDirectory(prefix="ivv-tls-") as tmp:
        cert_local, key_local = Path(tmp) / "server.crt", Path(tmp) / "server.key"
        cert_local.write_bytes(cert_pem)
        _write_private(key_local, key_pem)
        for local, remote in ((cert_local, paths["cert"]), (key_local, paths["key"])):
            folder = quote(str(Path(remote).parent))  # a new folder is closed to others: the key lands in it
            target.run(f"[ -d {folder} ] || sudo install -d -m 0750 {folder}", timeout=30, check=True)
            target.put(local, remote, mode=0o600, sudo=True)
    target.run(f"sudo chown root:{quote(group)} {quote(paths['cert'])} {quote(paths['key'])} && "
               f"sudo chmod 0644 {quote(paths['cert'])} && sudo chmod 0640 {quote(paths['key'])}", timeout=30, check=True)
    return {"cert": paths["cert"], "key": paths["key"], "group": group}
