"""Which shards of the Redis bus a worker process reads: its fair share, each under a lease.

Every worker process announces itself in a sorted set (`PREFIX:members`, score = when its
announcement lapses, by Redis's clock) and renews that with its leases. All workers see the
same live members, sorted by name, so they agree on one assignment: shard s belongs to
member s mod n. A worker takes the leases of its shards as they come free and lets go of
the ones that are no longer its own (between batches, with nothing in hand). Two workers
take half each; when one dies its announcement and leases lapse and the others take over.

A lease (`PREFIX:lease:N`) is still what keeps a shard to one reader at a time: the
assignment only says who should try.
"""

from __future__ import annotations

from typing import Any

# Announce this member, drop the ones that lapsed, return who is live (by Redis's clock,
# so the processes' clocks need not agree).
_ANNOUNCE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
# Take the lease when free, renew it when ours: 1 held, 0 someone else holds it.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def assignment(members: list[str], me: str, shards: int) -> set[int]:
    """The shards that are `me`'s when `members` are live: shard s goes to member s mod n."""
    live = sorted(set(members))
    if me not in live:
        return set()
    index = live.index(me)
    return {shard for shard in range(shards) if shard % len(live) == index}


class ShardLeases:
    """One process's membership and leases (the Redis client is the bus's)."""

    def __init__(self, redis: Any, prefix: str, shards: int, me: str, lease_ms: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._shards = shards
        self.me = me
        self._lease_ms = lease_ms
        self._members_key = f"{prefix}:members"
        self._announce = redis.register_script(_ANNOUNCE)
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self.mine: set[int] = set()  # what the last announcement assigned to this process

    def lease_key(self, shard: int) -> str:
        return f"{self._prefix}:lease:{shard}"

    async def announce(self) -> list[str]:
        """Say this process is alive; updates `mine` from the live members, returns them."""
        members = [
            str(m) for m in await self._announce([self._members_key], [self.me, self._lease_ms])
        ]
        self.mine = assignment(members, self.me, self._shards)
        return members

    async def live_members(self) -> list[str]:
        """Who is live now, without announcing anyone."""
        return [str(m) for m in await self._announce([self._members_key], ["", self._lease_ms])]

    async def take(self, shard: int) -> bool:
        """Take (or renew) the shard's lease; False while another process holds it."""
        return bool(
            await self._acquire(keys=[self.lease_key(shard)], args=[self.me, self._lease_ms])
        )

    async def give_back(self, shard: int) -> None:
        await self._release(keys=[self.lease_key(shard)], args=[self.me])

    async def leave(self) -> None:
        """On stop: no longer a member, so the others take this process's shards at once."""
        await self._redis.zrem(self._members_key, self.me)
        self.mine = set()
