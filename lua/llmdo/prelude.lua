-- The prelude: runs once when the state is built. It returns the set-up
-- function vm.c calls with (loaders, sources): the loaders of llmdo's
-- own modules, and the chunk source names of llmdo's own Lua files.
--
-- 1. The wall: llmdo's internal modules (llmdo.core.*, llmdo.agent, ...)
-- are reachable only from llmdo's own Lua. A project's Lua files see the
-- documented `llmdo` module; `require "llmdo.core.frame"` from a project
-- is an error, and package.loaded and package.preload never hold an
-- internal module. (This keeps the API honest; it is no sandbox: the
-- debug library can still reach anything.) LLMDO_INTERNALS=1 lifts it,
-- for llmdo's own tests.
--
-- 2. pcall and xpcall do not catch the error of a task being cancelled
-- (outside a shielded cleanup): it goes on up, as Trio's Cancelled does, so
-- a retry loop around a wait, or a busy loop that swallows errors, still
-- stops on Ctrl-C. llmdo's own code that must catch it to run cleanups uses
-- task.xpcall, the plain one.
--
-- 3. os.exit(code) does not leave at once: it raises an error of kind
-- "exit" that unwinds like any other, so every cleanup runs and pending
-- output is flushed; the process then exits with the code, silently.
--
-- 4. Host primitives (sleep, call_agent, HTTP, ...) suspend the running task by
-- yielding the sentinel task.YIELD to the scheduler. When user code calls
-- one inside its own coroutine, that yield would land in the user's
-- coroutine.resume instead. These wrappers pass such yields up to the
-- scheduler and hand the operation's results back down, so user coroutines
-- (iterators, generators) and host waits compose.
local co_resume, co_yield, co_status = coroutine.resume, coroutine.yield, coroutine.status
local co_isyieldable = coroutine.isyieldable
local pack, unpack = table.pack, table.unpack
local YIELD, nowait

-- own_caller(): is the function calling require llmdo's own? (C: the
-- chunk name of the caller against `sources`, with no table made.)
local function install_require(loaders, own_caller)
  local std_require = require
  local loaded = {}   -- internal module name -> value
  local open = os.getenv("LLMDO_INTERNALS") == "1"
  local function internal_require(name)
    local v = loaded[name]
    if v ~= nil then return v end
    local loader = loaders[name]
    if not loader then return std_require(name) end
    v = loader(name)
    if v == nil then v = true end
    loaded[name] = v
    return v
  end
  function require(name) -- luacheck: ignore 121
    if loaders[name] then
      if not (open or own_caller()) then
        error("module '" .. name .. "' is internal to llmdo; project code uses require \"llmdo\" "
          .. "(see docs/lua-api.md)", 2)
      end
      return internal_require(name)
    end
    local ok, v = pcall(std_require, name)
    if ok then return v end
    -- "module 'x' not found" comes without a place (pcall called it): the caller's
    if type(v) == "string" and v:find("module '" .. name .. "' not found", 1, true) == 1 then error(v, 2) end
    error(v, 0)
  end
  return internal_require
end

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

return function(loaders, own_caller)
  local internal_require = install_require(loaders, own_caller)
  local task = internal_require("llmdo.core.task")
  YIELD, nowait = task.YIELD, task.nowait
  local raw_pcall, raw_xpcall, cancelled = pcall, xpcall, task.cancelled
  task.xpcall = raw_xpcall
  local function pass(ok, ...)
    if not ok and cancelled() then error((...), 0) end
    return ok, ...
  end
  function pcall(f, ...) return pass(raw_pcall(f, ...)) end -- luacheck: ignore 121
  function xpcall(f, msgh, ...) return pass(raw_xpcall(f, msgh, ...)) end -- luacheck: ignore 121
  local E = internal_require("llmdo.core.error")
  os.exit = function(code) -- luacheck: ignore 122
    if code == nil then code = true end
    if type(code) ~= "boolean" and math.type(code) ~= "integer" then
      error("bad argument #1 to 'exit' (boolean or integer expected)", 2)
    end
    error(E.new("exit", "os.exit(" .. tostring(code) .. ")", { code = code }), 2)
  end
  return internal_require
end
