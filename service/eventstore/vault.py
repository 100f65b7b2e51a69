"""The keys that seal personal data in the log (crypto-shredding).

Personal fields of an event are sealed with AES-GCM under a data key: one per author (their
email digest) or, without an email, one per comment. Data keys are stored wrapped by the
key-encryption key (KEK), which never enters the database; erasing destroys a data key, and
with it every copy of what it sealed, backups of the log included. Digests of IP addresses are
sealed under a key derived from the author's key and a key of the day they were written, so
they are gone when either is destroyed (retention destroys day keys).
"""

import base64
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class WrongKek(Exception):
    """A data key was wrapped by a KEK this process does not have."""


# Cached: every data key a replay opens asks which KEK wrapped it.
@functools.lru_cache(maxsize=16)
def kek_id(kek: bytes) -> str:
    """A KEK's public name: which KEK wrapped a key, without revealing it."""
    return hashlib.sha256(b"threadlog kek id\x00" + kek).hexdigest()[:16]


def parse_kek(text: str) -> bytes:
    """A KEK as configured: 32 bytes in base64 (standard or URL-safe, padded or not)."""
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except ValueError as error:
        raise ValueError("a KEK is 32 bytes in base64") from error
    if len(raw) != KEY_BYTES:
        raise ValueError(f"a KEK is 32 bytes in base64, this is {len(raw)} bytes")
    return raw


def new_kek_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip("=")


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """nonce + ciphertext + tag; `context` binds it to its place (it cannot be moved)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def unseal(key: bytes, sealed: bytes, context: bytes) -> bytes:
    """Raises cryptography's InvalidTag when the key, the context or the bytes are wrong."""
    return unseal_with(AESGCM(key), sealed, context)


def unseal_with(cipher: AESGCM, sealed: bytes, context: bytes) -> bytes:
    return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)


# Made once per KEK: a replay unwraps a data key for nearly every comment, and making the
# cipher costs as much as the decryption.
@functools.lru_cache(maxsize=16)
def kek_cipher(kek: bytes) -> AESGCM:
    return AESGCM(kek)


def combined_key(author_key: bytes, day_key: bytes) -> bytes:
    """The key of an author's IP digests of one day: gone when either key is. (HMAC-SHA256 of
    two random keys is HKDF's extract step, which is all two uniform keys need.)"""
    return hmac.digest(day_key, b"threadlog ip\x00" + author_key, "sha256")


@dataclass(frozen=True, slots=True)
class Vault:
    """The KEK that wraps new data keys, and older ones still accepted while a rotation runs."""

    kek: bytes
    previous: tuple[bytes, ...] = ()

    @property
    def kek_id(self) -> str:
        return kek_id(self.kek)

    def wrap(self, key_id: str, data_key: bytes) -> bytes:
        return seal(self.kek, data_key, key_id.encode())

    def unwrap(self, key_id: str, wrapped_by: str, wrapped: bytes) -> bytes:
        for kek in (self.kek, *self.previous):
            if kek_id(kek) == wrapped_by:
                try:
                    return unseal_with(kek_cipher(kek), wrapped, key_id.encode())
                except InvalidTag as error:
                    message = f"data key {key_id} does not open with KEK {wrapped_by}"
                    raise WrongKek(message) from error
        raise WrongKek(f"data key {key_id} is wrapped by KEK {wrapped_by}: not configured here")

    def new_data_key(self, key_id: str) -> tuple[bytes, bytes]:
        """(data key, wrapped data key)."""
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        return data_key, self.wrap(key_id, data_key)
