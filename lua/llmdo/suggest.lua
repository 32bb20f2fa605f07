-- "Did you mean": the nearest of a list of known names to a mistyped one,
-- by edit distance (optimal string alignment: insertions, deletions,
-- substitutions and swaps of two neighbours each cost 1). Used for
-- commands, options, project.lua keys, worker fields, toolsets, workers
-- and tools.
local M = {}

-- The edit distance between a and b; stops early past `limit`.
function M.distance(a, b, limit)
  local la, lb = #a, #b
  if math.abs(la - lb) > limit then return limit + 1 end
  local prev2, prev = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    local best = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cb = b:byte(j)
      local d = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca == cb and 0 or 1))
      if i > 1 and j > 1 and ca == b:byte(j - 1) and a:byte(i - 1) == cb then
        d = math.min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
      if d < best then best = d end
    end
    if best > limit then return limit + 1 end
    prev2, prev = prev, cur
  end
  return prev[lb]
end

-- The known name nearest to `word`, when it is near enough to be a typo:
-- within a third of its length (at least 1, at most 3), or differing only
-- in case, '-' against '_', or by a missing prefix ("model" for "--model").
-- Ties go to the name listed first. Returns nil when nothing is close.
function M.nearest(word, names)
  if type(word) ~= "string" or word == "" then return nil end
  local norm = function(s) return (s:lower():gsub("_", "-"):gsub("^%-+", "")) end
  local w = norm(word)
  local limit = math.max(1, math.min(3, #w // 3))
  local best, best_d
  for _, name in ipairs(names) do
    if type(name) == "string" and name ~= word then
      local d = norm(name) == w and 0 or M.distance(w, norm(name), limit)
      if d <= limit and (not best_d or d < best_d) then best, best_d = name, d end
    end
  end
  return best
end

-- "; did you mean 'x'?" for a mistyped name, or "".
function M.hint(word, names)
  local n = M.nearest(word, names)
  return n and ("; did you mean '" .. n .. "'?") or ""
end

return M
