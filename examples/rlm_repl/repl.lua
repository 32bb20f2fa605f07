-- lua_repl: a sandboxed Lua REPL as a toolset. The model's code runs in an
-- environment of its own (no io, os.execute, require, load or debug), with
-- the document preloaded as `context`; print() is captured; globals persist.
-- scope = "run": one environment per run, shared by every worker call that
-- lists the same instance, recursive calls included - that is how a parent
-- hands a chunk to a child. Runaway code is stopped by the tool's timeout.
local llmdo = require "llmdo"

local M = {}

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function sandbox(printed)
  local string_lib = copy(string)
  string_lib.dump = nil
  return {
    string = string_lib, table = copy(table), math = copy(math), utf8 = copy(utf8),
    os = { time = os.time, clock = os.clock, date = os.date },
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
    select = select, tonumber = tonumber, tostring = tostring, type = type, rawequal = rawequal,
    rawget = rawget, rawlen = rawlen, rawset = rawset, setmetatable = setmetatable,
    -- not the strings' metatable: its __index is the real string library,
    -- shared with llmdo and every toolset
    getmetatable = function(v) if type(v) ~= "string" then return getmetatable(v) end end,
    print = function(...)
      local parts = table.pack(...)
      for i = 1, parts.n do parts[i] = tostring(parts[i]) end
      printed[#printed + 1] = table.concat(parts, "\t", 1, parts.n)
    end,
  }
end

local MAX_OUTPUT = 8000

M.lua_repl = llmdo.toolset {
  scope = "run",
  validate_config = function(config)
    if config.context_file ~= nil and type(config.context_file) ~= "string" then
      return "context_file: expected a path (a string)"
    end
  end,
  factory = function()
    local printed, env = {}, nil
    return {
      tools = {
        run = {
          description = "Run Lua 5.4 code in the REPL; returns what it printed and what it returned",
          params = { code = "string" },
          approval = "pre_approved",
          sequential = true, -- one chunk at a time: they share the globals
          timeout = 10,
          fn = function(args, ctx)
            if not env then
              env = sandbox(printed)
              env.context = ctx:read_file(ctx.config.context_file or "context.txt")
            end
            local chunk, err = load(args.code, "=repl", "t", env)
            if not chunk then chunk, err = load("return " .. args.code, "=repl", "t", env) end
            if not chunk then return { error = err } end
            for i = #printed, 1, -1 do printed[i] = nil end
            local res = table.pack(pcall(chunk))
            local out = { printed = table.concat(printed, "\n"):sub(1, MAX_OUTPUT) }
            if not res[1] then
              out.error = tostring(res[2])
            elseif res.n > 1 then
              local shown = {}
              for i = 2, res.n do shown[#shown + 1] = tostring(res[i]) end
              out.returned = table.concat(shown, "\t"):sub(1, MAX_OUTPUT)
            end
            return out
          end,
        },
      },
      cleanup = function() env = nil end,
    }
  end,
  tool_names = { "run" },
}

return M
