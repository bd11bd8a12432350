"""Risk evaluations waiting after a daily report: a Redis set, drained by one Celery task.

A submit used to publish one Celery message per report (several Redis round trips and a tenth of
the submit's time under load). Now it adds ``"<classroom>:<day>"`` to a Redis set and, only when no
drain is scheduled yet, queues :func:`students.attendance.tasks.evaluate_pending_classrooms` a
second later. The drain evaluates every class waiting, grouped per county and day, in one pass.

- One round trip per submit (SADD + SET NX in a pipeline); about one Celery message per second of
  traffic instead of one per submit.
- Nothing is lost between the two: a drain clears the "scheduled" mark *before* it pops, so a
  submit that found the mark set was added before the pop began. If a drain is lost (worker
  killed, broker flushed), the mark expires after ``SCHEDULED_SECONDS`` and Celery beat also runs
  the drain every few minutes.
- A class evaluated twice is harmless (evaluation is idempotent); a drain that fails puts its
  classes back before it is retried.
- Redis down: the submit still succeeds and the nightly run catches up (as with the broker).
- With tasks run inline (``make run`` without ``REDIS_URL``, the tests), the class is evaluated at
  once, as before.
"""

import datetime as dt
import functools

import redis
from celery import current_app

PENDING_KEY = "kc:risk:pending"  # set of "<classroom id>:<YYYY-MM-DD>"
SCHEDULED_KEY = "kc:risk:drain-scheduled"
SCHEDULED_SECONDS = 30
DRAIN_DELAY_SECONDS = 1  # the submits of that second are evaluated together
DRAIN_BATCH = 200


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def client() -> redis.Redis | None:
    """The broker's Redis, or None when tasks run inline or the broker is not Redis."""
    conf = current_app.conf
    url = conf.broker_url or ""
    if conf.task_always_eager or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return _client(url)


def member(classroom_id: int, day: dt.date) -> str:
    return f"{classroom_id}:{day.isoformat()}"


def parse(raw: bytes | str) -> tuple[int, dt.date] | None:
    text = raw.decode() if isinstance(raw, bytes) else raw
    classroom, _, day = text.partition(":")
    try:
        return int(classroom), dt.date.fromisoformat(day)
    except ValueError:
        return None


def add(redis_client: redis.Redis, classroom_id: int, day: dt.date) -> bool:
    """Put the class in the set; True when no drain is scheduled yet (the caller schedules one)."""
    pipe = redis_client.pipeline(transaction=False)
    pipe.sadd(PENDING_KEY, member(classroom_id, day))
    pipe.set(SCHEDULED_KEY, "1", nx=True, ex=SCHEDULED_SECONDS)
    _added, first = pipe.execute()
    return bool(first)


def unschedule(redis_client: redis.Redis) -> None:
    """Clear the "scheduled" mark: by a drain before it pops, or when scheduling it failed."""
    redis_client.delete(SCHEDULED_KEY)


def take(redis_client: redis.Redis) -> list[bytes]:
    """Up to DRAIN_BATCH waiting members, removed from the set."""
    popped = redis_client.spop(PENDING_KEY, DRAIN_BATCH)  # with a count: a list (empty when none wait)
    return [item if isinstance(item, bytes) else str(item).encode() for item in (popped or [])]


def put_back(redis_client: redis.Redis, members: list[bytes]) -> None:
    if members:
        redis_client.sadd(PENDING_KEY, *members)
