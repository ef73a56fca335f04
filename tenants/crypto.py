"""Encryption at rest for customer secrets, with keys from the environment (FIELD_ENCRYPTION_KEYS)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key (key rotated away or data damaged)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: customer secrets cannot be encrypted.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from exc


def _current_fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_secret(plaintext: str) -> str:
    """Encrypt with the newest key; the token carries its own timestamp and MAC."""
    return _current_fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    """Decrypt with whichever configured key made the token."""
    try:
        return _current_fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured keys.") from exc
