-- A minimal test helper for Lua-level tests run by `llmdo lua`.
local T = { count = 0 }

local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function T.eq(got, want, what)
  T.count = T.count + 1
  if got ~= want then
    error(string.format("%s: got %s, want %s", what or "check", fmt(got), fmt(want)), 2)
  end
end

function T.ok(cond, what)
  T.count = T.count + 1
  if not cond then error((what or "check") .. " failed", 2) end
end

-- Calls f and returns its error message (fails if f does not raise).
function T.raises(f, ...)
  T.count = T.count + 1
  local ok, err = pcall(f, ...)
  if ok then error("expected an error", 2) end
  return tostring(err)
end

function T.done(name)
  return string.format("%s: %d checks passed", name, T.count)
end

return T
