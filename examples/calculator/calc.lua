-- Plain Lua tools. Integers are Lua 5.4 64-bit integers, so results are
-- exact; the schemas keep the inputs where they stay exact.
local llmdo = require "llmdo"

local M = {}

local function int(min, max, what)
  return { type = "integer", minimum = min, maximum = max, description = what }
end

local function binary(description, op)
  return {
    description = description,
    params = { a = "number", b = "number" },
    approval = "pre_approved",
    fn = function(args) return op(args.a, args.b) end,
  }
end

M.calc = llmdo.toolset {
  description = "Exact integer functions and the four operations",
  tools = {
    factorial = {
      description = "n! (n from 0 to 20; 21! does not fit in 64 bits)",
      params = { n = int(0, 20, "the number") },
      approval = "pre_approved",
      fn = function(args)
        local r = 1
        for i = 2, args.n do r = r * i end
        return r
      end,
    },
    fibonacci = {
      description = "The n-th Fibonacci number, with fibonacci(0) = 0 and fibonacci(1) = 1 (n up to 92)",
      params = { n = int(0, 92, "the index") },
      approval = "pre_approved",
      fn = function(args)
        local a, b = 0, 1
        for _ = 1, args.n do a, b = b, a + b end
        return a
      end,
    },
    add = binary("a + b", function(a, b) return a + b end),
    subtract = binary("a - b", function(a, b) return a - b end),
    multiply = binary("a * b", function(a, b) return a * b end),
    divide = binary("a / b", function(a, b)
      if b == 0 then llmdo.retry("division by zero: b must not be 0") end
      return a / b
    end),
  },
}

return M
