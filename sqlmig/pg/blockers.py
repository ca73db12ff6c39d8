"""Who is blocking a session: `blockers(conn, pid)` reads pg_blocking_pids and
pg_stat_activity, and a BlockerWatch keeps asking on a connection of its own while a
migration runs, so that when a statement gives up waiting for a lock (lock_timeout) the
session it waited for can be named: by then the migration no longer waits, and
pg_blocking_pids of it is empty. Reads only; decides nothing.
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress

import psycopg

from sqlmig.core.lock_retries import Blocker
from sqlmig.core.secrets import without_passwords

# How much of a blocking session's query is read (pg_stat_activity keeps up to
# track_activity_query_size bytes).
QUERY_CHARS = 200
# How often the watch asks while the migration waits for a lock: a lock_timeout shorter
# than this may end before its blocker is seen.
WATCH_SECONDS = 0.1
# A wait seen over longer ago than this was not the one that just timed out (a statement
# that timed out after a wait shorter than WATCH_SECONDS went unseen).
STALE_SECONDS = 1.0

# pg_blocking_pids takes the lock manager's locks for a moment: asked only while `pid`
# waits for a heavyweight lock (pg_stat_get_activity of one pid is cheap).
BLOCKERS = f"""
SELECT b.pid, coalesce(b.application_name, ''), b.state, b.query_start, b.state_change,
       coalesce(left(b.query, {QUERY_CHARS}), '')
  FROM pg_stat_get_activity(%s) AS w
 CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid)
  JOIN pg_stat_activity AS b ON b.pid = blocking.pid
 WHERE w.wait_event_type = 'Lock'
 ORDER BY b.pid
"""


def blockers(conn: psycopg.Connection, pid: int) -> list[Blocker]:
    """The sessions `pid` is waiting for right now (none if it is not waiting for a lock)."""
    rows = conn.execute(BLOCKERS, (pid,)).fetchall()
    return [Blocker(who, app, state, start, change, without_passwords(query))
            for who, app, state, start, change, query in rows]


class BlockerWatch:
    """A thread asking, every WATCH_SECONDS on a connection of its own, whom `pid` waits
    for; `seen()` is the last non-empty answer, unless that wait ended well before now (it
    was for another lock, granted in time) or `forget()` came after it. If the connection
    cannot be made or breaks, it says nothing (a retry does not need it)."""

    def __init__(self, url: str, pid: int) -> None:
        self.pid = pid
        self._last: tuple[Blocker, ...] = ()
        self._ended: float | None = None  # when the wait seen last was seen over
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        with suppress(psycopg.Error):
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=5,
                                         application_name="sqlmig (lock watch)")
        self._thread = threading.Thread(target=self._watch, name="sqlmig-lock-watch",
                                        daemon=True)
        if self._conn is not None:
            self._thread.start()

    def _watch(self) -> None:
        conn = self._conn
        assert conn is not None
        while not self._stop.wait(WATCH_SECONDS):
            try:
                found = blockers(conn, self.pid)
            except psycopg.Error:
                return
            with self._guard:
                if found:
                    self._last, self._ended = tuple(found), None
                elif self._last and self._ended is None:
                    self._ended = time.monotonic()

    def seen(self) -> tuple[Blocker, ...]:
        with self._guard:
            ended, last = self._ended, self._last
        if ended is not None and time.monotonic() - ended > STALE_SECONDS:
            return ()
        return last

    def forget(self) -> None:
        """A new attempt starts: what was seen before belongs to the last one."""
        with self._guard:
            self._last, self._ended = (), None

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
