-- The prelude: runs once when the state is built.
--
-- Host primitives (sleep, call_agent, HTTP, ...) suspend the running task by
-- yielding the sentinel task.YIELD to the scheduler. When user code calls
-- one inside its own coroutine, that yield would land in the user's
-- coroutine.resume instead. These wrappers pass such yields up to the
-- scheduler and hand the operation's results back down, so user coroutines
-- (iterators, generators) and host waits compose.
local task = require "llmdo.core.task"

local YIELD = task.YIELD
local co_resume, co_yield, co_status = coroutine.resume, coroutine.yield, coroutine.status
local co_isyieldable = coroutine.isyieldable
local pack, unpack = table.pack, table.unpack
local nowait = task.nowait

local function forward(co, r)
  while r[1] and r[2] == YIELD and r.n == 2 and co_status(co) == "suspended" do
    r = pack(co_resume(co, co_yield(YIELD)))
  end
  return r
end

-- Resumes co; where the caller itself cannot yield (inside a sort
-- comparator, a metamethod ...), host waits inside co are refused up front
-- rather than started and stranded.
local function resume(co, ...)
  if co_isyieldable() then return forward(co, pack(co_resume(co, ...))) end
  nowait(1)
  local r = pack(co_resume(co, ...))
  nowait(-1)
  return r
end

function coroutine.resume(co, ...)
  local r = resume(co, ...)
  return unpack(r, 1, r.n)
end

function coroutine.wrap(f)
  local co = coroutine.create(f)
  return function(...)
    local r = resume(co, ...)
    if not r[1] then
      local err = r[2]
      if type(err) == "string" then error(err, 2) end
      error(err, 0)
    end
    return unpack(r, 2, r.n)
  end
end

return true
