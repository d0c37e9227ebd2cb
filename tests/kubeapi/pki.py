"""A throwaway certificate authority for the test API server: the server's certificate (127.0.0.1,
::1, localhost) and client certificates whose subject is a Kubernetes identity (CN = user name,
O = one entry per group), as the API server's x509 authenticator reads them.

Everything is written as PEM files in one directory; nothing is trusted outside the tests.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key(kind: str = "ec"):
    """An ECDSA P-256 key, or RSA 2048 (what kubeadm issues) for kind="rsa"."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _write(path: str, data: bytes, mode: int = 0o644) -> str:
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


@dataclass
class CertFiles:
    """A certificate and its key as PEM files (paths), and the same bytes in memory."""

    cert: str
    key: str
    cert_pem: bytes
    key_pem: bytes


def _builder(subject: x509.Name, issuer: x509.Name, public_key, *, days: int, ca: bool) -> x509.CertificateBuilder:
    """What every certificate here shares: validity from five minutes ago, basic constraints, key usage
    (a CA signs certificates and CRLs; a leaf signs and enciphers keys)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=not ca, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                         encipher_only=False, decipher_only=False), critical=True))


class CA:
    """A self-signed CA in `directory` (ca.crt, ca.key) that issues server and client certificates."""

    def __init__(self, directory: str, name: str = "fedns-test-ca"):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self._key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._cert = (_builder(subject, subject, self._key.public_key(), days=2, ca=True)
                      .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()),
                                     critical=False)
                      .sign(self._key, hashes.SHA256()))
        self.cert_pem = self._cert.public_bytes(serialization.Encoding.PEM)
        self.cert = _write(os.path.join(directory, "ca.crt"), self.cert_pem)
        self.key = _write(os.path.join(directory, "ca.key"), _key_pem(self._key), 0o600)

    def _issue(self, file_stem: str, subject: x509.Name, *, server_names: list[str] | None,
               usage, key_type: str = "ec") -> CertFiles:
        key = _key(key_type)
        builder = (_builder(subject, self._cert.subject, key.public_key(), days=1, ca=False)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                                  critical=False))
        if server_names:
            alt: list[x509.GeneralName] = []
            for entry in server_names:
                try:
                    alt.append(x509.IPAddress(ipaddress.ip_address(entry)))
                except ValueError:
                    alt.append(x509.DNSName(entry))
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        cert_pem, key_pem = cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)
        return CertFiles(cert=_write(os.path.join(self.directory, f"{file_stem}.crt"), cert_pem),
                         key=_write(os.path.join(self.directory, f"{file_stem}.key"), key_pem, 0o600),
                         cert_pem=cert_pem, key_pem=key_pem)

    def server_cert(self, names: list[str] | None = None) -> CertFiles:
        """The API server's certificate; by default valid for 127.0.0.1, ::1 and localhost."""
        names = names or ["127.0.0.1", "::1", "localhost", "kubernetes.default.svc"]
        return self._issue("apiserver", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
                           server_names=names, usage=ExtendedKeyUsageOID.SERVER_AUTH)

    def client_cert(self, user: str, groups: list[str] | tuple[str, ...] = (), file_stem: str | None = None,
                    key_type: str = "ec") -> CertFiles:
        """A client certificate for `user` in `groups` (CN and O, as the API server reads them); the key is
        ECDSA P-256 ("EC PRIVATE KEY" PEM) or, with key_type="rsa", RSA 2048 ("RSA PRIVATE KEY" PEM)."""
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
        stem = file_stem or "client-" + "".join(c if c.isalnum() else "-" for c in user)
        return self._issue(stem, x509.Name(attrs), server_names=None, usage=ExtendedKeyUsageOID.CLIENT_AUTH,
                           key_type=key_type)
