"""`StateStore` over SQLAlchemy async: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.state import (
    CLAIM_TTL_S,
    SCHEMA_VERSION,
    RateDecision,
    StateUnavailable,
    Turn,
    Vote,
)

logger = logging.getLogger(__name__)

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)
turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(300), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("focus", String(200), nullable=False, default=""),
    Column("topic", String(200), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Index("ix_turns_conv", "conversation_id", "created_at"),
    Index("ix_turns_user", "user_id"),
)
claims = Table(
    "claims",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("created_at", Float, nullable=False),
)
rate_windows = Table(
    "rate_windows",
    metadata,
    Column("user_key", String(250), primary_key=True),
    Column("window_start", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
)
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(20), nullable=False),
    Column("message_ref", String(300), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("vote", Integer, nullable=False),  # +1 helpful, -1 not helpful
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("chunk_ids", Text, nullable=False),  # JSON list
    Column("created_at", Float, nullable=False),
    UniqueConstraint("platform", "message_ref", "user_id", name="uq_feedback_vote"),
)
asks = Table(
    "asks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(20), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("question", Text, nullable=False),
    Column("abstained", Integer, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_asks_user", "user_id"),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; NORMAL sync is durable across crashes of
    the process (only a power cut can lose the last turns), and saves an fsync per answer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SqlStateStore:
    """`StateStore` over SQLAlchemy async: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

    def __init__(self, url: str, *, clock: Any = time.time) -> None:
        self.url = url
        self._clock = clock
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            if self.url.startswith("sqlite"):
                path = self.url.split("///", 1)[-1]
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._engine = create_async_engine(self.url, connect_args={"timeout": 15})
                event.listen(self._engine.sync_engine, "connect", _sqlite_pragmas)
            else:
                self._engine = create_async_engine(
                    self.url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=5
                )
        return self._engine

    async def start(self) -> None:
        """Create the schema on first start; refuse a schema newer than this code."""
        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                row = (await conn.execute(select(schema_info.c.version))).first()
                if row is None:
                    await conn.execute(insert(schema_info).values(id=1, version=SCHEMA_VERSION))
                elif row.version > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"the state store has schema version {row.version}, newer than this "
                        f"bot's {SCHEMA_VERSION}; upgrade the bot"
                    )
        except (SQLAlchemyError, OSError, ConnectionError) as exc:
            raise StateUnavailable(f"state store unreachable: {exc.__class__.__name__}") from exc

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _run(self, fn: Any) -> Any:
        try:
            async with self.engine.begin() as conn:
                return await fn(conn)
        except IntegrityError:
            raise
        except (SQLAlchemyError, OSError, ConnectionError) as exc:
            raise StateUnavailable(f"state store unreachable: {exc.__class__.__name__}") from exc

    async def record_exchange(
        self,
        conversation_id: str,
        user_id: str,
        platform: str,
        question: str,
        answer: str | None,
        *,
        focus: str = "",
        topic: str = "",
        abstained: bool = False,
        kind: str = "answer",
    ) -> None:
        """Log a question (for the admins' report) and, when answered, remember the turn: one
        transaction."""
        now = self._clock()

        async def go(conn: Any) -> None:
            if answer is not None:
                await conn.execute(
                    insert(turns).values(
                        conversation_id=conversation_id,
                        user_id=user_id,
                        platform=platform,
                        question=question,
                        answer=answer,
                        focus=focus,
                        topic=topic,
                        created_at=now,
                    )
                )
            await conn.execute(
                insert(asks).values(
                    platform=platform,
                    user_id=user_id,
                    question=question[:4000],
                    abstained=int(abstained),
                    kind=kind,
                    created_at=now,
                )
            )

        await self._run(go)

    async def recent_turns(self, conversation_id: str, limit: int, idle_s: float) -> list[Turn]:
        """The last `limit` turns, oldest first; a conversation idle longer than `idle_s` is new."""
        now = self._clock()

        async def go(conn: Any) -> list[Turn]:
            rows = (
                await conn.execute(
                    select(turns)
                    .where(turns.c.conversation_id == conversation_id)
                    .order_by(turns.c.created_at.desc(), turns.c.id.desc())
                    .limit(limit)
                )
            ).all()
            if not rows or now - rows[0].created_at > idle_s:
                return []
            return [
                Turn(r.question, r.answer, r.focus, r.topic, r.created_at) for r in reversed(rows)
            ]

        result: list[Turn] = await self._run(go)
        return result

    async def reset_conversation(self, conversation_id: str) -> None:
        async def go(conn: Any) -> None:
            await conn.execute(delete(turns).where(turns.c.conversation_id == conversation_id))

        await self._run(go)

    async def claim(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool:
        """Atomically claim an event key: True for exactly one caller across all replicas."""
        now = self._clock()

        async def go(conn: Any) -> bool:
            await conn.execute(delete(claims).where(claims.c.created_at < now - ttl_s))
            await conn.execute(insert(claims).values(key=key[:300], created_at=now))
            return True

        try:
            claimed: bool = await self._run(go)
            return claimed
        except IntegrityError:
            return False

    async def hit_rate(self, user_key: str, limit: int, window_s: int = 60) -> RateDecision:
        """Count one request in the user's current fixed window (one atomic upsert)."""
        now = self._clock()
        start = int(now // window_s) * window_s

        async def go(conn: Any) -> int:
            if self.engine.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as upsert
            else:
                from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
            base = upsert(rate_windows).values(user_key=user_key, window_start=start, count=1)
            stmt = base.on_conflict_do_update(
                index_elements=["user_key", "window_start"],
                set_={"count": rate_windows.c.count + 1},
            ).returning(rate_windows.c.count)
            count = int((await conn.execute(stmt)).scalar_one())
            await conn.execute(
                delete(rate_windows).where(rate_windows.c.window_start < start - window_s)
            )
            return count

        count = await self._run(go)
        return RateDecision(
            allowed=count <= limit,
            count=count,
            limit=limit,
            retry_after_s=max(0.0, start + window_s - now),
        )

    async def record_vote(self, vote: Vote) -> None:
        """Store a vote; voting again on the same answer replaces the earlier vote."""

        async def go(conn: Any) -> None:
            values = {
                "vote": vote.vote,
                "question": vote.question,
                "answer": vote.answer,
                "chunk_ids": json.dumps(vote.chunk_ids),
                "created_at": vote.created_at or self._clock(),
            }
            result = await conn.execute(
                update(feedback)
                .where(
                    feedback.c.platform == vote.platform,
                    feedback.c.message_ref == vote.message_ref,
                    feedback.c.user_id == vote.user_id,
                )
                .values(**values)
            )
            if result.rowcount == 0:
                await conn.execute(
                    insert(feedback).values(
                        platform=vote.platform,
                        message_ref=vote.message_ref,
                        user_id=vote.user_id,
                        **values,
                    )
                )

        await self._run(go)

    async def votes(self, since: float = 0.0) -> list[Vote]:
        async def go(conn: Any) -> list[Vote]:
            rows = (
                await conn.execute(
                    select(feedback).where(feedback.c.created_at >= since).order_by(feedback.c.id)
                )
            ).all()
            return [
                Vote(
                    r.platform,
                    r.message_ref,
                    r.user_id,
                    r.vote,
                    r.question,
                    r.answer,
                    json.loads(r.chunk_ids),
                    r.created_at,
                )
                for r in rows
            ]

        result: list[Vote] = await self._run(go)
        return result

    async def declined(self, since: float = 0.0) -> list[str]:
        """Questions the bot declined since a time (for the admins' report)."""

        async def go(conn: Any) -> list[str]:
            rows = await conn.execute(
                select(asks.c.question).where(asks.c.abstained == 1, asks.c.created_at >= since)
            )
            return [r.question for r in rows]

        result: list[str] = await self._run(go)
        return result

    async def forget_user(self, user_id: str) -> int:
        """Delete everything stored about one user; returns how many rows went."""

        async def go(conn: Any) -> int:
            total = 0
            for table in (turns, feedback, asks):
                res = await conn.execute(delete(table).where(table.c.user_id == user_id))
                total += res.rowcount or 0
            res = await conn.execute(
                delete(rate_windows).where(rate_windows.c.user_key.like(f"%:{user_id}"))
            )
            return total + (res.rowcount or 0)

        count: int = await self._run(go)
        return count

    async def purge(self, retention_days: float) -> int:
        """Drop conversation turns older than the retention period."""
        cutoff = self._clock() - retention_days * 86400

        async def go(conn: Any) -> int:
            res = await conn.execute(delete(turns).where(turns.c.created_at < cutoff))
            return res.rowcount or 0

        count: int = await self._run(go)
        return count

    async def count(self, table_name: str) -> int:
        """Rows in a table (tests and reports)."""
        table = metadata.tables[table_name]

        async def go(conn: Any) -> int:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())

        result: int = await self._run(go)
        return result


def make_state_store(url: str) -> SqlStateStore:
    return SqlStateStore(url)
