"""The sandbox's token signing key (RS256) and its JWKS."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kid = base64.urlsafe_b64encode(hashlib.sha1(public_der).digest()).decode().rstrip("=")
        return cls(kid, pem)

    @cached_property
    def _key(self) -> rsa.RSAPrivateKey:
        # Loading a PEM validates the RSA key (~0.1 s): once per process, not once per request.
        key = serialization.load_pem_private_key(self.private_pem.encode("ascii"), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    def _private(self) -> rsa.RSAPrivateKey:
        return self._key

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private(), algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, **options: Any) -> dict[str, Any]:
        """Decode and check signature and expiry (raises jwt.PyJWTError). `options` go to
        jwt.decode (audience=..., issuer=..., options=...)."""
        claims: dict[str, Any] = jwt.decode(
            token, self._private().public_key(), algorithms=["RS256"], **options
        )
        return claims

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._private().public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def to_json(self) -> dict[str, str]:
        return {"kid": self.kid, "private_pem": self.private_pem}
