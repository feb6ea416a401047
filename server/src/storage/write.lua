-- Stores the samples of several series from one batch: raw points, rollups, current values.
-- Each series' keys share its hash tag (they start with its base), and the call names every
-- series' meta hash in KEYS: in Redis Cluster a call holds only series of one slot (livedash
-- sends one series a call there), elsewhere many, to spread the cost of a call. Each call is
-- atomic. The key suffixes are documented, and built for reading, in keys.rs.
--
-- The configuration comes first, as constants written by `storage::write_script` (so a call
-- does not pass and parse it): RAW_KEEP and RAW_CHUNK (ms), LN_GAMMA, CHUNK_BUCKETS, TIERS
-- ({name, width, keep, field}) and STATE_FIELDS (the meta fields read below).
--
-- KEYS     per series, its meta hash: kind, v (current value), ts (its time), total
--          (counters), and per tier `o<tier>`, the tier's open bucket (see below)
-- ARGV     now_ms, then per series: base, kind, form, token, n, then n arguments, the samples in
--          one of two forms (token: '' or the hash of the request's idempotency key, whose
--          marker `i:<token>` makes a repeated request skip the series it stored):
--          `p`: (ts_ms, value) pairs in arrival order; a gauge value `d<number>` is a change
--          to the current value rather than a value. Sets, histograms, gauge changes.
--          `f`, folded by livedash (`storage::fold`, plain gauge values and counter
--          increments): the newest time, the value at it (a counter: the sum of the
--          increments), the number of raw chunks c, c x (chunk key, the key of the chunk
--          before it, its expiry, its new records), then per tier a string of 56-byte bucket records in time order (start,
--          min, max, sum, count, last, last_ts as little-endian doubles; a counter's last is
--          its running sum within the batch).
-- Returns  per series: {1, current value, its ts} when the current value changed, {0} when it
--          did not (a late point, or a set), {2, stored kind} when the series is of another
--          kind (nothing of it is written), {3} when its token's marker shows it stored.
--
-- Rollups: each tier keeps its newest bucket (the open one) as a record in the meta hash, so a
-- write reads and writes all four tiers with the one HMGET and HSET it needs anyway. A bucket
-- moves to its chunk string once, when a newer bucket replaces it; a late point for an older
-- bucket goes to the chunk directly. Queries merge the open record with the chunks.
local now = tonumber(ARGV[1])
-- The series being written, for the helpers below.
local base, state, expiries, open, touched

-- Shortest of %.15g / %.17g that reads back as the same double.
local function fmt(x)
  local s = string.format('%.15g', x)
  if tonumber(s) ~= x then s = string.format('%.17g', x) end
  return s
end

local function int(x) return string.format('%d', x) end

-- Log-bucketed sketch bin (DDSketch): relative error (gamma - 1) / (gamma + 1).
local function bin(x)
  if x > 0 then return 'p' .. int(math.ceil(math.log(x) / LN_GAMMA)) end
  if x < 0 then return 'n' .. int(math.ceil(math.log(-x) / LN_GAMMA)) end
  return 'z'
end

-- The list under `key` in `lists`, made when new (its key then noted in `order`, so keys are
-- visited in the order they came).
local function list_of(lists, order, key)
  local list = lists[key]
  if not list then
    list = {}
    lists[key] = list
    order[#order + 1] = key
  end
  return list
end

-- Folds `b` into `into` (`b` is newer: its last value wins a tie).
local function merge(into, b)
  if b.mn < into.mn then into.mn = b.mn end
  if b.mx > into.mx then into.mx = b.mx end
  into.sum, into.count = into.sum + b.sum, into.count + b.count
  if b.last_ts >= into.last_ts then into.last, into.last_ts = b.last, b.last_ts end
end

-- Rewrites a string that is done growing at its exact size: Redis grows a string by doubling,
-- so an appended chunk can hold up to twice what it stores.
local function compact(key)
  local data = redis.call('GET', key)
  if data then redis.call('SET', key, data, 'KEEPTTL') end
end

-- Adds a bucket to its slot in a chunk string: 48-byte records (min, max, sum, count, last,
-- last_ts as little-endian doubles), one per bucket; a zero count is an empty slot.
local function to_chunk(tier, b)
  if b.start + tier.width + tier.keep <= now then return end
  local index = b.start / tier.width
  local chunk = math.floor(index / CHUNK_BUCKETS)
  local key = base .. 'r:' .. tier.name .. ':' .. int(chunk)
  local offset = (index % CHUNK_BUCKETS) * 48
  local old = redis.call('GETRANGE', key, offset, offset + 47)
  local stored = false
  if #old == 48 then
    local mn, mx, sum, count, last, last_ts = struct.unpack('<dddddd', old)
    if count > 0 then
      stored = true
      b.mn, b.mx = math.min(mn, b.mn), math.max(mx, b.mx)
      b.sum, b.count = sum + b.sum, count + b.count
      -- The stored value stays the last one only if it is strictly later: `b` is newer.
      if last_ts > b.last_ts then b.last, b.last_ts = last, last_ts end
    end
  end
  if not stored then
    -- The chunk's expiry is fixed (its last bucket's end plus the retention), so setting it
    -- when a bucket first appears is enough.
    expiries[key] = (chunk + 1) * CHUNK_BUCKETS * tier.width + tier.keep
  end
  redis.call('SETRANGE', key, offset, struct.pack('<dddddd', b.mn, b.mx, b.sum, b.count, b.last, b.last_ts))
  if index % CHUNK_BUCKETS == CHUNK_BUCKETS - 1 then compact(key) end
end

-- Each tier's open bucket (`open`): read from the meta hash when first needed; false when
-- there is none.
-- Applies one bucket of this write to tier `t`, buckets taken in time order.
local function settle(t, b)
  local o = open[t]
  if o == nil then
    o = false
    local record = state[4 + t]
    if record and #record == 56 then
      local start, mn, mx, sum, count, last, last_ts = struct.unpack('<ddddddd', record)
      o = { start = start, mn = mn, mx = mx, sum = sum, count = count, last = last, last_ts = last_ts }
    end
  end
  if o and b.start == o.start then
    merge(o, b)
  elseif not o or b.start > o.start then
    if o then to_chunk(TIERS[t], o) end
    o = b
  else
    to_chunk(TIERS[t], b)
  end
  open[t], touched[t] = o, true
end

local function write_series(meta, kind, form, first, last)
  state = redis.call('HMGET', meta, unpack(STATE_FIELDS))
  local stored_kind = state[1]
  if stored_kind and stored_kind ~= kind then return { 2, stored_kind } end
  expiries, open, touched = {}, {}, {}
  local cur_v, cur_ts_text = state[2], state[3]
  local cur_ts = tonumber(cur_ts_text or '-1')
  local before_v, before_ts = cur_v, cur_ts
  local total = tonumber(state[4] or '0')
  -- Meta fields to set; the kind only once.
  local fields = {}
  if not stored_kind then fields = { 'kind', kind } end

  if form == 'f' then
    local newest_text, value = ARGV[first], ARGV[first + 1]
    local a = first + 3
    for _ = 1, tonumber(ARGV[first + 2]) do
      local key, previous, expires, records = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
      if redis.call('APPEND', key, records) == #records then
        -- A new chunk: it expires when its newest possible point leaves the retention, and the
        -- chunk before it is done.
        redis.call('PEXPIREAT', key, expires)
        compact(previous)
      end
      a = a + 4
    end
    for t = 1, #TIERS do
      local records = ARGV[a]
      a = a + 1
      for at = 1, #records, 56 do
        local start, mn, mx, sum, count, last, last_ts = struct.unpack('<ddddddd', records, at)
        if kind == 'counter' then last = total + last end
        settle(t, { start = start, mn = mn, mx = mx, sum = sum, count = count, last = last, last_ts = last_ts })
      end
    end
    local newest = tonumber(newest_text)
    if kind == 'counter' then total = total + tonumber(value) end
    if newest >= cur_ts then
      cur_ts, cur_ts_text = newest, newest_text
      if kind ~= 'counter' then cur_v = value end
    end
  else
    local raw_min = now - RAW_KEEP
    -- What the batch does to each raw chunk and bucket, gathered first so that each touched
    -- key is written once, not once per point.
    local raw_parts, raw_chunks = {}, {}
    local buckets, bucket_starts = {}, {}
    for t = 1, #TIERS do buckets[t], bucket_starts[t] = {}, {} end
    local bins, bin_keys = {}, {}
    local sets, set_keys = {}, {}

    for p = first, last, 2 do
      local ts, value = tonumber(ARGV[p]), ARGV[p + 1]
      if kind == 'gauge' and string.sub(value, 1, 1) == 'd' then
        -- A gauge change (`d<number>`): relative to the current value, in arrival order.
        value = fmt(tonumber(cur_v or '0') + tonumber(string.sub(value, 2)))
        cur_v, cur_ts = value, math.max(cur_ts, ts)
      end
      local x = tonumber(value)
      if kind == 'counter' then total = total + x end

      if kind ~= 'set' and ts >= raw_min then
        -- A raw point is a 12-byte record (ms since its chunk's start, value), appended in
        -- arrival order; a late point simply goes to the chunk of its own time.
        local chunk = math.floor(ts / RAW_CHUNK)
        local parts = list_of(raw_parts, raw_chunks, chunk)
        parts[#parts + 1] = struct.pack('<I4d', ts - chunk * RAW_CHUNK, x)
      end

      if ts >= cur_ts then
        cur_ts = ts
        if kind ~= 'counter' and kind ~= 'set' then cur_v = value end
      end

      for t = 1, #TIERS do
        local tier = TIERS[t]
        local start = ts - (ts % tier.width)
        local expires = start + tier.width + tier.keep
        if expires > now then
          if kind == 'set' then
            local key = base .. 'u:' .. tier.name .. ':' .. int(start)
            local members = list_of(sets, set_keys, key)
            members[#members + 1] = value
            expiries[key] = expires
          else
            local last = x
            if kind == 'counter' then last = total end
            local per_tier = buckets[t]
            local b = per_tier[start]
            if not b then
              per_tier[start] = { start = start, mn = x, mx = x, sum = x, count = 1, last = last, last_ts = ts }
              bucket_starts[t][#bucket_starts[t] + 1] = start
            else
              if x < b.mn then b.mn = x end
              if x > b.mx then b.mx = x end
              b.sum, b.count = b.sum + x, b.count + 1
              if ts >= b.last_ts then b.last, b.last_ts = last, ts end
            end
            if kind == 'histogram' then
              local hkey = base .. 'h:' .. tier.name .. ':' .. int(start)
              local counts = list_of(bins, bin_keys, hkey)
              local name = bin(x)
              counts[name] = (counts[name] or 0) + 1
              expiries[hkey] = expires
            end
          end
        end
      end
    end

    for _, chunk in ipairs(raw_chunks) do
      local key = base .. 'p:' .. int(chunk)
      local records = table.concat(raw_parts[chunk])
      if redis.call('APPEND', key, records) == #records then
        expiries[key] = (chunk + 1) * RAW_CHUNK + RAW_KEEP
        compact(base .. 'p:' .. int(chunk - 1))
      end
    end
    for t = 1, #TIERS do
      local starts = bucket_starts[t]
      table.sort(starts)
      for _, start in ipairs(starts) do settle(t, buckets[t][start]) end
    end
    for _, hkey in ipairs(bin_keys) do
      for name, count in pairs(bins[hkey]) do redis.call('HINCRBY', hkey, name, count) end
    end
    for _, key in ipairs(set_keys) do
      local members = sets[key]
      for first = 1, #members, 1000 do
        redis.call('PFADD', key, unpack(members, first, math.min(first + 999, #members)))
      end
    end
    if cur_ts ~= before_ts then cur_ts_text = int(cur_ts) end
  end

  for t = 1, #TIERS do
    local o = open[t]
    if touched[t] then
      fields[#fields + 1] = TIERS[t].field
      fields[#fields + 1] = struct.pack('<ddddddd', o.start, o.mn, o.mx, o.sum, o.count, o.last, o.last_ts)
    end
  end
  for key, at in pairs(expiries) do redis.call('PEXPIREAT', key, int(at)) end

  if kind == 'counter' then
    cur_v = fmt(total)
    fields[#fields + 1] = 'total'
    fields[#fields + 1] = cur_v
  end
  local changed = cur_v and (cur_v ~= before_v or cur_ts ~= before_ts)
  if changed then
    fields[#fields + 1] = 'v'
    fields[#fields + 1] = cur_v
    fields[#fields + 1] = 'ts'
    fields[#fields + 1] = cur_ts_text
  end
  if #fields > 0 then redis.call('HSET', meta, unpack(fields)) end
  if not changed then return { 0 } end
  return { 1, cur_v, cur_ts_text }
end

local results, a = {}, 2
for s = 1, #KEYS do
  base = ARGV[a]
  local token, n = ARGV[a + 3], tonumber(ARGV[a + 4])
  if token ~= '' and not redis.call('SET', base .. 'i:' .. token, '1', 'NX', 'PX', IDEMPOTENCY_MS) then
    -- A request with this idempotency key stored these points already.
    results[s] = { 3 }
  else
    results[s] = write_series(KEYS[s], ARGV[a + 1], ARGV[a + 2], a + 5, a + 4 + n)
    if token ~= '' and results[s][1] == 2 then redis.call('DEL', base .. 'i:' .. token) end
  end
  a = a + 5 + n
end
return results
