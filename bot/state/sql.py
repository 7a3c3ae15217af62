"""`StateStore` over SQLAlchemy async: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
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
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.state.base import (
    CLAIM_TTL_S,
    SCHEMA_VERSION,
    RateDecision,
    Scope,
    StateRejected,
    StateUnavailable,
    Turn,
    Vote,
    clean_text,
    clean_vote,
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
    Index("ix_turns_created", "created_at"),  # retention (schema 2)
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
    Column("sources", Text, nullable=False, server_default="[]"),  # JSON list (schema 2)
    Column("asker_id", String(200), nullable=False, server_default=""),  # schema 3
    # Where the vote was cast, for a report of one workspace (schema 3).
    Column("conversation_id", String(300), nullable=False, server_default=""),
    UniqueConstraint("platform", "message_ref", "user_id", name="uq_feedback_vote"),
    Index("ix_feedback_asker", "asker_id"),  # forget_user (schema 3)
    Index("ix_feedback_created", "created_at"),  # retention (schema 3)
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
    # Where it was asked, for a report of one workspace (schema 3).
    Column("conversation_id", String(300), nullable=False, server_default=""),
    Index("ix_asks_user", "user_id"),
    Index("ix_asks_created", "created_at"),  # retention and the report (schema 2)
)


def _schema_2(conn: Connection) -> None:
    """Schema 2: votes remember the documents the answer cited; turns and asked questions are
    indexed by time, so the hourly retention purge does not scan them whole."""
    columns = {c["name"] for c in inspect(conn).get_columns("feedback")}
    if "sources" not in columns:
        conn.execute(text("ALTER TABLE feedback ADD COLUMN sources TEXT NOT NULL DEFAULT '[]'"))
    for table, name in ((turns, "ix_turns_created"), (asks, "ix_asks_created")):
        next(i for i in table.indexes if i.name == name).create(conn, checkfirst=True)


def _schema_3(conn: Connection) -> None:
    """Schema 3: a vote knows who asked the question it rates (forgetting the asker removes
    it) and is indexed by time for its retention period; asked questions and votes keep the
    conversation they came from, so an admin's report can be limited to one platform's
    workspace. Older rows keep "" (no asker, no workspace)."""
    for table in ("asks", "feedback"):
        columns = {c["name"] for c in inspect(conn).get_columns(table)}
        if "conversation_id" not in columns:
            conn.execute(
                text(
                    f"ALTER TABLE {table} ADD COLUMN conversation_id VARCHAR(300) "
                    "NOT NULL DEFAULT ''"
                )
            )
    columns = {c["name"] for c in inspect(conn).get_columns("feedback")}
    if "asker_id" not in columns:
        conn.execute(
            text("ALTER TABLE feedback ADD COLUMN asker_id VARCHAR(200) NOT NULL DEFAULT ''")
        )
    for name in ("ix_feedback_asker", "ix_feedback_created"):
        next(i for i in feedback.indexes if i.name == name).create(conn, checkfirst=True)


#: version -> the step that brings a store at version-1 to it. Steps are idempotent, so a
#: replica that dies half-way leaves a store the next start finishes migrating.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _schema_2, 3: _schema_3}

#: Seconds a PostgreSQL connect or statement may take before the store counts as unreachable.
PG_TIMEOUT_S = 3.0

#: Seconds calls skip the store after one found it unreachable (STATE_BREAKER_S).
BREAKER_S = 15.0

#: A failure that took this long (a timeout, not a refusal) opens the breaker: half the
#: connect/statement timeout, far above a refused connection even on a loaded machine.
SLOW_FAILURE_S = PG_TIMEOUT_S / 2

#: Seconds `start` retries an unreachable store (STATE_START_RETRY_S), and its first pause
#: between tries, doubled after each.
START_RETRY_S = 15.0
START_FIRST_DELAY_S = 0.5

#: Any constant: PostgreSQL advisory lock held while one replica creates or migrates the schema.
_SCHEMA_LOCK = 0x63617265


#: SQLSTATE classes of errors about the data sent, not the server: 22 data exception (a value
#: too long, bytes UTF-8 cannot hold), 23 integrity constraint violation. SQLAlchemy's asyncpg
#: adapter raises most of them as a bare DBAPIError, so the class is read from the code.
_DATA_SQLSTATES = ("22", "23")


def _rejection(exc: BaseException) -> StateRejected | None:
    """A `StateRejected` when `exc` is about the record written, None when it is about the store.

    Its message holds the error's kind and SQLSTATE only: the database's own message and
    SQLAlchemy's (the statement and its parameters) can quote what a user typed."""
    if isinstance(exc, UnicodeError):  # SQLite's driver cannot encode the text
        return StateRejected(f"state store refused the record ({exc.__class__.__name__})")
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return None
    code = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
    if not (isinstance(exc, (DataError, IntegrityError)) or code.startswith(_DATA_SQLSTATES)):
        return None
    # The driver's own exception names the problem (asyncpg's, behind SQLAlchemy's adapter).
    driver = (exc.orig.__cause__ or exc.orig) if exc.orig is not None else exc
    where = f", SQLSTATE {code}" if code else ""
    return StateRejected(f"state store refused the record ({driver.__class__.__name__}{where})")


def _within(table: Table, scope: Scope | None) -> list[Any]:
    """The conditions that keep a report's rows of `table` to `scope` (none: every row)."""
    if scope is None:
        return []
    conditions: list[Any] = [table.c.platform == scope.platform]
    if scope.prefix is not None:
        conditions.append(table.c.conversation_id.startswith(scope.prefix, autoescape=True))
    return conditions


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; NORMAL sync is durable across crashes of
    the process (only a power cut can lose the last turns), and saves an fsync per answer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class CircuitBreaker:
    """Skips the store for `open_s` seconds after a call found it unreachable.

    A hanging server costs each call a full timeout, and an answer makes several calls in a
    row: once one has timed out, the next ones within `open_s` fail at once instead. Then one
    trial call goes through (the others still fail at once); its success closes the breaker,
    its failure opens it again. `open_s` 0 never skips."""

    def __init__(self, open_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.open_s = open_s
        self._clock = clock
        self._opened_at: float | None = None
        self._trial = False

    def admit(self) -> bool:
        """Raise `StateUnavailable` while open; else True when this call is the trial."""
        if self._opened_at is None or self.open_s <= 0:
            return False
        if self._trial or self._clock() - self._opened_at < self.open_s:
            raise StateUnavailable(
                f"state store unreachable: not tried again for {self.open_s:g} s after a failure"
            )
        self._trial = True
        return True

    def succeeded(self) -> None:
        """The store answered (a record it refused counts: it is up)."""
        self._opened_at = None
        self._trial = False

    def failed(self) -> None:
        """The store could not be reached: skip it from now on for `open_s`."""
        if self._opened_at is None:
            logger.debug("state store unreachable: skipping it for %g s", self.open_s)
        self._opened_at = self._clock()
        self._trial = False

    def abandoned(self, trial: bool) -> None:
        """A call ended without telling whether the store is up (cancelled, or an error that
        is no outage): let another call be the trial."""
        if trial:
            self._trial = False


class SqlStateStore:
    """`StateStore` over SQLAlchemy async: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Any = time.time,
        breaker_s: float = BREAKER_S,
        start_retry_s: float = START_RETRY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` dates what is stored; `monotonic` times the circuit breaker (`breaker_s`,
        see `CircuitBreaker`) and `start_retry_s` bounds how long `start` retries."""
        self.url = url
        self._clock = clock
        self._engine: AsyncEngine | None = None
        self._started = False
        self._starting = asyncio.Lock()
        self.breaker = CircuitBreaker(breaker_s, clock=monotonic)
        self._start_retry_s = start_retry_s

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
                # A server that hangs (a dropped network, a stuck host) must fail a call as
                # fast as one that refuses it, or every answer waits on it: bound the connect
                # and every statement, the pre-ping included (asyncpg's own options).
                asyncpg = self.url.startswith("postgresql+asyncpg")
                self._engine = create_async_engine(
                    self.url,
                    pool_pre_ping=True,
                    pool_size=5,
                    max_overflow=5,
                    pool_timeout=5,
                    connect_args={"timeout": PG_TIMEOUT_S, "command_timeout": PG_TIMEOUT_S}
                    if asyncpg
                    else {},
                )
        return self._engine

    async def start(self) -> None:
        """Create the schema on first start, migrate an older one in place (keeping its
        conversations and feedback), and refuse one newer than this code.

        An unreachable store is tried again with exponential backoff for `start_retry_s`
        (a PostgreSQL started with the bot may still be coming up), one warning per failed
        try; then `StateUnavailable` says which setting to check."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_retry_s
        delay = START_FIRST_DELAY_S
        attempt = 1
        while True:
            try:
                await self._start_once()
            except StateUnavailable as exc:
                left = deadline - loop.time()
                if left <= 0:
                    self.breaker.failed()
                    check = (
                        "that DATA_DIR (or the file STATE_URL names) is writable"
                        if self.url.startswith("sqlite")
                        else "that the server STATE_URL names is up and reachable"
                    )
                    raise StateUnavailable(
                        f"{exc} after {attempt} attempt(s) in {self._start_retry_s:g} s; "
                        f"check {check}"
                    ) from exc.__cause__
                pause = min(delay, left)
                logger.warning("%s (attempt %d); trying again in %.1f s", exc, attempt, pause)
                await asyncio.sleep(pause)
                delay *= 2
                attempt += 1
            else:
                self.breaker.succeeded()
                return

    async def _start_once(self) -> None:
        try:
            async with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Replicas starting together: one creates/migrates, the others wait.
                    await conn.execute(text(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})"))
                await conn.run_sync(metadata.create_all)
                row = (await conn.execute(select(schema_info.c.version))).first()
                if row is None:
                    await conn.execute(insert(schema_info).values(id=1, version=SCHEMA_VERSION))
                elif row.version > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"the state store has schema version {row.version}, newer than this "
                        f"bot's {SCHEMA_VERSION}; upgrade the bot"
                    )
                elif row.version < SCHEMA_VERSION:
                    for version in range(row.version + 1, SCHEMA_VERSION + 1):
                        await conn.run_sync(MIGRATIONS[version])
                        logger.info("state store migrated to schema version %d", version)
                    await conn.execute(update(schema_info).values(version=SCHEMA_VERSION))
        except (SQLAlchemyError, OSError, ConnectionError) as exc:
            raise StateUnavailable(f"state store unreachable: {exc.__class__.__name__}") from exc
        self._started = True

    async def schema_version(self) -> int:
        """The version the store is at (0 before the first start)."""

        async def go(conn: Any) -> int:
            if not await conn.run_sync(lambda c: inspect(c).has_table("schema_info")):
                return 0
            row = (await conn.execute(select(schema_info.c.version))).first()
            return int(row.version) if row else 0

        version: int = await self._run(go, ensure=False)
        return version

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _run(self, fn: Any, *, ensure: bool = True) -> Any:
        """Every call of the store passes here, through the circuit breaker."""
        trial = self.breaker.admit()
        began = time.monotonic()
        try:
            if ensure and not self._started:
                # The store was down when the bot started: create/migrate the schema now,
                # once, without `start`'s retries (a caller is waiting).
                async with self._starting:
                    if not self._started:
                        await self._start_once()
            result = await self._execute(fn)
        except StateUnavailable:
            if time.monotonic() - began >= SLOW_FAILURE_S:
                self.breaker.failed()
            else:
                # Refused at once (a stopped server, not a hanging one): trying costs nothing,
                # so no call skips the store, and the first one after a restart reaches it.
                self.breaker.succeeded()
            raise
        except StateRejected:
            self.breaker.succeeded()
            raise
        except BaseException:
            self.breaker.abandoned(trial)
            raise
        self.breaker.succeeded()
        return result

    async def _execute(self, fn: Any) -> Any:
        try:
            async with self.engine.begin() as conn:
                return await fn(conn)
        except (SQLAlchemyError, OSError, ConnectionError, UnicodeError) as exc:
            rejected = _rejection(exc)
            if rejected is not None:
                # Not chained: the original's text quotes the statement's parameters.
                raise rejected from None
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
        conversation_id, user_id, platform = map(clean_text, (conversation_id, user_id, platform))
        question, focus, topic, kind = map(clean_text, (question, focus, topic, kind))
        answer = None if answer is None else clean_text(answer)

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
                    conversation_id=conversation_id[:300],
                )
            )

        await self._run(go)

    async def recent_turns(self, conversation_id: str, limit: int, idle_s: float) -> list[Turn]:
        """The last `limit` turns, oldest first; a conversation idle longer than `idle_s` is new."""
        now = self._clock()
        conversation_id = clean_text(conversation_id)

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
        conversation_id = clean_text(conversation_id)

        async def go(conn: Any) -> None:
            await conn.execute(delete(turns).where(turns.c.conversation_id == conversation_id))

        await self._run(go)

    async def claim(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool:
        """Atomically claim an event key: True for exactly one caller across all replicas.

        One statement: insert the key, or take over a claim of it that has expired. Expired
        claims of other keys are left to `purge` (a scan per event would grow with traffic).
        """
        now = self._clock()
        key = clean_text(key)[:300]

        async def go(conn: Any) -> bool:
            stmt = (
                self._upsert(claims)
                .values(key=key, created_at=now)
                .on_conflict_do_update(
                    index_elements=["key"],
                    set_={"created_at": now},
                    where=claims.c.created_at < now - ttl_s,
                )
            )
            return bool((await conn.execute(stmt)).rowcount == 1)

        claimed: bool = await self._run(go)
        return claimed

    def _upsert(self, table: Table) -> Any:
        """INSERT ... ON CONFLICT for this store's dialect."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    async def claimed(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool:
        """Has some replica claimed `key` (and the claim not expired)? Read-only."""
        since = self._clock() - ttl_s
        key = clean_text(key)[:300]

        async def go(conn: Any) -> bool:
            row = await conn.execute(
                select(claims.c.key).where(claims.c.key == key, claims.c.created_at >= since)
            )
            return row.first() is not None

        found: bool = await self._run(go)
        return found

    async def hit_rate(self, user_key: str, limit: int, window_s: int = 60) -> RateDecision:
        """Count one request in the user's current fixed window (one atomic upsert)."""
        now = self._clock()
        start = int(now // window_s) * window_s
        user_key = clean_text(user_key)

        async def go(conn: Any) -> int:
            base = self._upsert(rate_windows).values(user_key=user_key, window_start=start, count=1)
            stmt = base.on_conflict_do_update(
                index_elements=["user_key", "window_start"],
                set_={"count": rate_windows.c.count + 1},
            ).returning(rate_windows.c.count)
            # Finished windows are dropped by `purge`, not on every request.
            return int((await conn.execute(stmt)).scalar_one())

        count = await self._run(go)
        return RateDecision(
            allowed=count <= limit,
            count=count,
            limit=limit,
            retry_after_s=max(0.0, start + window_s - now),
        )

    async def record_vote(self, vote: Vote) -> None:
        """Store a vote; voting again on the same answer replaces the earlier vote."""
        vote = clean_vote(vote)
        values = {
            "vote": vote.vote,
            "question": vote.question,
            "answer": vote.answer,
            "chunk_ids": json.dumps(vote.chunk_ids),
            "sources": json.dumps(vote.sources, ensure_ascii=False),
            "created_at": vote.created_at or self._clock(),
            "asker_id": vote.asker_id,
            "conversation_id": vote.conversation_id[:300],
        }

        async def go(conn: Any) -> None:
            # One statement: two clicks at once (two replicas) cannot both insert.
            await conn.execute(
                self._upsert(feedback)
                .values(
                    platform=vote.platform,
                    message_ref=vote.message_ref,
                    user_id=vote.user_id,
                    **values,
                )
                .on_conflict_do_update(
                    index_elements=["platform", "message_ref", "user_id"], set_=values
                )
            )

        await self._run(go)

    async def votes(self, since: float = 0.0, scope: Scope | None = None) -> list[Vote]:
        """Votes since a time, only those `scope` covers when given (the admins' report)."""
        where = [feedback.c.created_at >= since, *_within(feedback, scope)]

        async def go(conn: Any) -> list[Vote]:
            rows = (
                await conn.execute(select(feedback).where(*where).order_by(feedback.c.id))
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
                    json.loads(r.sources or "[]"),
                    r.asker_id,
                    r.conversation_id,
                )
                for r in rows
            ]

        result: list[Vote] = await self._run(go)
        return result

    async def declined(self, since: float = 0.0, scope: Scope | None = None) -> list[str]:
        """Questions the bot declined since a time, only those `scope` covers when given (for
        the admins' report)."""
        where = [asks.c.abstained == 1, asks.c.created_at >= since, *_within(asks, scope)]

        async def go(conn: Any) -> list[str]:
            rows = await conn.execute(select(asks.c.question).where(*where))
            return [r.question for r in rows]

        result: list[str] = await self._run(go)
        return result

    async def forget_user(self, user_id: str) -> int:
        """Delete everything stored about one user; returns how many rows went."""
        user_id = clean_text(user_id)

        async def go(conn: Any) -> int:
            total = 0
            for table in (turns, feedback, asks):
                res = await conn.execute(delete(table).where(table.c.user_id == user_id))
                total += res.rowcount or 0
            # Votes others cast on this user's answers hold this user's question.
            res = await conn.execute(delete(feedback).where(feedback.c.asker_id == user_id))
            total += res.rowcount or 0
            res = await conn.execute(
                delete(rate_windows).where(
                    rate_windows.c.user_key.endswith(f":{user_id}", autoescape=True)
                )
            )
            return total + (res.rowcount or 0)

        count: int = await self._run(go)
        return count

    async def purge(self, retention_days: float, vote_retention_days: float = 0) -> int:
        """Retention: drop conversation turns and asked-question records older than
        `retention_days`, votes older than `vote_retention_days` (0: kept), claims past their
        TTL and finished rate-limit windows."""
        now = self._clock()
        cutoff = now - retention_days * 86400

        async def go(conn: Any) -> int:
            gone = 0
            if vote_retention_days:
                old = feedback.c.created_at < now - vote_retention_days * 86400
                gone += (await conn.execute(delete(feedback).where(old))).rowcount or 0
            for stmt in (
                delete(turns).where(turns.c.created_at < cutoff),
                delete(asks).where(asks.c.created_at < cutoff),
                delete(claims).where(claims.c.created_at < now - CLAIM_TTL_S),
                delete(rate_windows).where(rate_windows.c.window_start < now - 3600),
            ):
                gone += (await conn.execute(stmt)).rowcount or 0
            return gone

        count: int = await self._run(go)
        return count

    async def count(self, table_name: str) -> int:
        """Rows in a table (tests and reports)."""
        table = metadata.tables[table_name]

        async def go(conn: Any) -> int:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())

        result: int = await self._run(go)
        return result
