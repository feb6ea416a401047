//! The retention table's script: a table of cohorts counted with `BITOP AND` and `BITCOUNT`.

/// KEYS[1]: a scratch key of the partition. ARGV: the start of the partition's keys, `d` or
/// `w`, the first cohort's period number, the number of cohorts, the last period to count.
/// Answers per cohort its size, then the users active in each period from its own to the
/// last.
pub const TABLE_LUA: &str = r"#!lua
local base = ARGV[1]
local period = ARGV[2]
local first = tonumber(ARGV[3])
local cohorts = tonumber(ARGV[4])
local last = tonumber(ARGV[5])
local function name(kind, n) return base .. kind .. ':' .. period .. ':' .. string.format('%.0f', n) end
local rows = {}
for c = first, first + cohorts - 1 do
  local cohort = name('c', c)
  local row = {redis.call('BITCOUNT', cohort)}
  for p = c, last do
    if row[1] == 0 then
      row[#row + 1] = 0
    else
      redis.call('BITOP', 'AND', KEYS[1], cohort, name('a', p))
      row[#row + 1] = redis.call('BITCOUNT', KEYS[1])
    end
  end
  rows[#rows + 1] = row
end
redis.call('DEL', KEYS[1])
return rows
";
