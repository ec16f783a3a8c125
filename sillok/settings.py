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
class ReadLimits:
    """How much of a flat acts file (CSV, JSON lines, XLSX) the readers take before refusing it.

    Each limit is checked while the file is read, so a file past one is refused before it has
    cost more than the limit; the error names the limit. An XLSX file's declared sheet size and
    inflated part sizes are checked before its sheet is read.
    """

    rows: int = 1_048_576  # the most rows an XLSX sheet can have
    cells: int = 25_000_000
    cell_chars: int = 100_000
    line_chars: int = 4 * 1024 * 1024
    xlsx_inflated_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Settings for creating, opening and working with an archive.

    Attributes:
        kdf: argon2id parameters used when a passphrase is set (stored with the wrapped key, so
            an archive always opens with the parameters it was made with).
        actor: the name recorded as created_by/updated_by for changes.
        import_batch_size: rows committed per batch during an import.
        search_limit: the most hits a search returns.
        read_limits: how much of a flat acts file the readers take before refusing it.
    """

    kdf: KdfParams = field(default_factory=KdfParams)
    actor: str = "owner"
    import_batch_size: int = 5000
    search_limit: int = 50
    read_limits: ReadLimits = field(default_factory=ReadLimits)
