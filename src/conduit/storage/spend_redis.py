"""Spending limits in Redis: one budget shared by every process that uses one server.

Each reservation is one Lua script, so the check and the hold are one atomic step on
the server, whichever process or machine sends it; time is the server's clock (`TIME`)
unless a `clock` is given. Per limit key there are three Redis keys:

* `<prefix><scope>:<window>:<name>:s`, a hash of window slot -> settled USD;
* `...:h`, a sorted set of reservation ids by expiry (to find expired holds quickly);
* `...:a`, a hash of reservation id -> `usd|expiry slot|expiry`.

Why per-window counters and not a sorted set of every spend: a reservation sums at most
101 slot counters whatever the traffic, where a sorted set of spends would make each
check cost as many entries as calls in the window (millions a month for a busy key),
and memory grows the same way. The price is the resolution: the oldest slot counts whole
while any of it is in the window (see `conduit.storage.spend`), which errs on the safe
side. Keys of a windowed limit expire on their own once nothing in them can count any
more; those of a limit for ever are kept.

Uses `redis.asyncio` from the `redis` package (`pip install 'conduit[redis]'`), imported
when a store is made. A client belongs to the event loop it was first used on.

Example:
    >>> RedisSpendStore(url="redis://127.0.0.1:6379/0").prefix
    'conduit:spend:'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from conduit.core.checks import check_money, check_seconds
from conduit.errors import StorageError
from conduit.storage.redis import _DEFAULT_URL, _RedisStore, _text
from conduit.storage.spend import (
    DEFAULT_HOLD_SECONDS,
    EPSILON,
    SLOTS,
    Reservation,
    SpendLimit,
    check_limits,
    new_reservation_id,
    refusal,
    safe_url,
)

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["RedisSpendStore"]

_COMMON = """
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local nslots = tonumber(ARGV[2])
local function slot_of(window, moment)
  if window <= 0 then return 0 end
  return math.floor(moment / (window / nslots))
end
local function start_of(window)
  if window <= 0 then return 0 end
  return slot_of(window, now - window)
end
local function fmt(x) return string.format('%.17g', x) end
local function hold_parts(v)
  local usd, es, exp = string.match(v, '^([^|]+)|([^|]+)|(.+)$')
  return tonumber(usd), es, tonumber(exp)
end
local function total_of(s, a, start)
  local total = 0
  local slots = redis.call('HGETALL', s)
  for j = 1, #slots, 2 do
    if tonumber(slots[j]) >= start then total = total + tonumber(slots[j + 1]) end
  end
  for _, v in ipairs(redis.call('HVALS', a)) do
    local usd, es = hold_parts(v)
    if tonumber(es) >= start then total = total + usd end
  end
  return total
end
-- Keep a windowed limit's keys until nothing in them can count any more.
local function keep(window, hold, s, h, a)
  if window <= 0 then return end
  local want = math.ceil((hold + window + window / nslots) * 1000) + 1000
  for _, k in ipairs({s, h, a}) do
    local ttl = redis.call('PTTL', k)
    if ttl == -1 or (ttl >= 0 and ttl < want) then redis.call('PEXPIRE', k, want) end
  end
end
"""

# KEYS: per limit s, h, a. ARGV: now ('' = server clock), slots, hold seconds, amount,
# id, epsilon, then per limit max_usd, window (0: for ever).
_RESERVE = (
    _COMMON
    + """
local hold = tonumber(ARGV[3])
local amount = tonumber(ARGV[4])
local id = ARGV[5]
local eps = tonumber(ARGV[6])
local n = #KEYS / 3
for i = 1, n do
  local s, h, a = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local max = tonumber(ARGV[5 + 2 * i])
  local window = tonumber(ARGV[6 + 2 * i])
  local start = start_of(window)
  -- Expired holds become spend in the slot of their expiry; old slots go.
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', h, '-inf', now)) do
    local v = redis.call('HGET', a, rid)
    if v then
      local usd, es = hold_parts(v)
      if usd > 0 then redis.call('HINCRBYFLOAT', s, es, fmt(usd)) end
      redis.call('HDEL', a, rid)
    end
    redis.call('ZREM', h, rid)
  end
  if window > 0 then
    local fields = redis.call('HKEYS', s)
    for _, slot in ipairs(fields) do
      if tonumber(slot) < start then redis.call('HDEL', s, slot) end
    end
  end
  local total = total_of(s, a, start)
  if not (total + amount <= max + eps and total < max - eps) then
    return {'refused', tostring(i), fmt(total)}
  end
end
local expires = now + hold
local seen = {}
for i = 1, n do
  local s, h, a = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if not seen[a] then
    seen[a] = true
    local window = tonumber(ARGV[6 + 2 * i])
    local es = string.format('%d', slot_of(window, expires))
    redis.call('HSET', a, id, fmt(amount) .. '|' .. es .. '|' .. fmt(expires))
    redis.call('ZADD', h, fmt(expires), id)
    keep(window, hold, s, h, a)
  end
end
return {'ok', fmt(now), fmt(expires)}
"""
)

# KEYS: per limit s, h, a. ARGV: now, slots, hold seconds, id, actual, then per limit
# window.
_SETTLE = (
    _COMMON
    + """
local hold = tonumber(ARGV[3])
local id = ARGV[4]
local actual = tonumber(ARGV[5])
for i = 1, #KEYS / 3 do
  local s, h, a = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local window = tonumber(ARGV[5 + i])
  local v = redis.call('HGET', a, id)
  if v then
    local usd, es, exp = hold_parts(v)
    redis.call('HDEL', a, id)
    redis.call('ZREM', h, id)
    if exp <= now then
      if usd > 0 then redis.call('HINCRBYFLOAT', s, es, fmt(usd)) end
    elseif actual > 0 then
      redis.call('HINCRBYFLOAT', s, string.format('%d', slot_of(window, now)), fmt(actual))
    end
    keep(window, hold, s, h, a)
  end
end
return 'ok'
"""
)

# KEYS: s, h, a. ARGV: now, slots, window.
_SPENT = (
    _COMMON
    + """
return fmt(total_of(KEYS[1], KEYS[3], start_of(tonumber(ARGV[3]))))
"""
)


class RedisSpendStore(_RedisStore):
    """Spend and holds in Redis; every process using the same server and prefix shares
    each budget. Pass a `redis.asyncio.Redis` client, or a `url` (the store then owns
    the client and closes it in `aclose()`).

    `clock`: None uses the Redis server's clock; inject one to test windows and hold
    expiry.

    Example:
        >>> RedisSpendStore(url="redis://127.0.0.1:6379/0", prefix="app:budget:").prefix
        'app:budget:'
    """

    def __init__(
        self,
        client: redis.asyncio.Redis | None = None,
        *,
        url: str = _DEFAULT_URL,
        prefix: str = "conduit:spend:",
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.hold_seconds = check_seconds(hold_seconds, "hold_seconds")
        super().__init__(client, url, prefix)
        self._url = url if client is None else None
        self._clock = clock
        self._reserve = self.client.register_script(_RESERVE)
        self._settle = self.client.register_script(_SETTLE)
        self._spent = self.client.register_script(_SPENT)

    def _keys(self, limit: SpendLimit) -> list[str]:
        scope, name, window = limit.key
        base = f"{self.prefix}{scope}:{window!r}:{name}:"
        return [base + "s", base + "h", base + "a"]

    def _now(self) -> float | str:
        return "" if self._clock is None else self._clock()

    async def reserve(self, limits: Sequence[SpendLimit], amount: float) -> Reservation:
        """Hold `amount` under every limit or raise `BudgetExceededError` (see
        `conduit.storage.spend.SpendStore`)."""
        amount = check_money(amount, "amount")
        limits = check_limits(limits)
        rid = new_reservation_id()
        if not limits:
            now = self._clock() if self._clock is not None else 0.0
            return Reservation(rid, amount, limits, now, now + self.hold_seconds)
        keys: list[str] = []
        args: list[Any] = [self._now(), SLOTS, self.hold_seconds, amount, rid, EPSILON]
        for limit in limits:
            keys += self._keys(limit)
            args += [limit.max_usd, limit.key[2]]
        found = [_text(part) for part in await self._reserve(keys=keys, args=args)]
        if found[0] == "refused":
            limit = limits[int(found[1]) - 1]
            error = refusal([limit], [float(found[2])], amount)
            assert error is not None
            raise error
        if found[0] != "ok":  # pragma: no cover - a script from another version
            raise StorageError(f"unexpected answer from the reserve script: {found!r}")
        return Reservation(rid, amount, limits, float(found[1]), float(found[2]))

    async def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the hold by `actual_usd` (idempotent)."""
        actual = check_money(actual_usd, "actual_usd")
        if not reservation.limits:
            return
        keys: list[str] = []
        args: list[Any] = [self._now(), SLOTS, self.hold_seconds, reservation.id, actual]
        for limit in reservation.limits:
            keys += self._keys(limit)
            args.append(limit.key[2])
        await self._settle(keys=keys, args=args)

    async def release(self, reservation: Reservation) -> None:
        """Drop the hold (= `settle(reservation, 0)`)."""
        await self.settle(reservation, 0.0)

    async def spent(self, limit: SpendLimit) -> float:
        """Settled spend in the window plus holds, in USD."""
        found = await self._spent(keys=self._keys(limit), args=[self._now(), SLOTS, limit.key[2]])
        return float(_text(found))

    def __repr__(self) -> str:
        where = "" if self._url is None else f"{safe_url(self._url)!r}, "
        return f"RedisSpendStore({where}prefix={self.prefix!r})"
