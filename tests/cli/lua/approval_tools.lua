-- Tools with every kind of approval configuration, for the approval tests.
local llmdo = require "llmdo"
local M = {}
M.ops = llmdo.toolset { factory = function()
  return { tools = {
    mul = { params = { a = "number", b = "number" }, fn = function(a) return a.a * a.b end },
    add = { params = { a = "number", b = "number" }, approval = "pre_approved", fn = function(a) return a.a + a.b end },
    must_ask = { params = { n = "integer" }, approval = "required", fn = function(a) return "asked " .. a.n end },
    guarded = {
      params = { path = "string", n = "integer" },
      approval = function(args)
        if args.path:sub(1, 1) == "/" then return "blocked", "absolute paths are not allowed" end
        if args.n > 10 then return "required" end
        return "pre_approved"
      end,
      describe = function(args) return "Guarded op on " .. args.path end,
      fn = function(a) return "guarded " .. a.path end,
    },
    confused = { approval = function() return "maybe" end, fn = function() return "never" end },
    plan = { params = { steps = "integer" },
      describe = function(args) return "Run a plan of " .. args.steps .. " steps:\n1. fetch\n2. build" end,
      fn = function(a) return "planned " .. a.steps end },
    calls_mul = { approval = "pre_approved", fn = function(_, ctx) return ctx:call_tool("mul", { a = 2, b = 3 }) end },
    calls_agent = { approval = "pre_approved", fn = function(_, ctx) return ctx:call_agent("helper", "from a tool") end },
  } }
end }
return M
