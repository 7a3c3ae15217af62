"""The state store: what the bot remembers between messages and shares between replicas.

`base` is the interface and its records, `memory` the in-process store for one-shot runs,
`sql` the persistent SQLite / PostgreSQL store (imported on its own: it pulls in SQLAlchemy).
"""

from __future__ import annotations

from bot.state.base import (
    CLAIM_TTL_S,
    SCHEMA_VERSION,
    RateDecision,
    Scope,
    StateRejected,
    StateStore,
    StateUnavailable,
    Turn,
    Vote,
    clean_text,
)
from bot.state.memory import MemoryStateStore

__all__ = [
    "CLAIM_TTL_S",
    "SCHEMA_VERSION",
    "MemoryStateStore",
    "RateDecision",
    "Scope",
    "StateRejected",
    "StateStore",
    "StateUnavailable",
    "Turn",
    "Vote",
    "clean_text",
]
