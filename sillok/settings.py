"""All of Sillok's settings in one place."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KdfParams:
    """argon2id parameters for turning a passphrase into a key-wrapping key.

    The defaults are RFC 9106's second recommended option (t=3, p=4, m=64 MiB), meant for
    machines with little memory, such as a documenter's laptop.
    """

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4


@dataclass(frozen=True)
class Settings:
    """Settings for creating, opening and working with an archive.

    Attributes:
        kdf: argon2id parameters used when a passphrase is set (stored with the wrapped key, so
            an archive always opens with the parameters it was made with).
        actor: the name recorded as created_by/updated_by for changes.
        import_batch_size: rows committed per batch during an import.
        search_limit: the most hits a search returns.
    """

    kdf: KdfParams = field(default_factory=KdfParams)
    actor: str = "owner"
    import_batch_size: int = 5000
    search_limit: int = 50
