-- A scripted model, so the example runs offline: run with --model lua:offline.
-- It reads the question like a model would (here, with patterns), calls the
-- tools it needs in one turn, then answers from their results.
local llmdo = require "llmdo"

local M = {}

M.offline = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "user" then
    local q = last.parts[1].text:lower()
    local calls = {}
    for n in q:gmatch("(%d+)%s*!") do calls[#calls + 1] = { name = "factorial", args = { n = tonumber(n) } } end
    for n in q:gmatch("(%d+) factorial") do calls[#calls + 1] = { name = "factorial", args = { n = tonumber(n) } } end
    for n in q:gmatch("(%d+)%a%a fibonacci") do
      calls[#calls + 1] = { name = "fibonacci", args = { n = tonumber(n) } }
    end
    for a, op, b in q:gmatch("(%d+)%s*([%+%-%*/])%s*(%d+)") do
      local name = ({ ["+"] = "add", ["-"] = "subtract", ["*"] = "multiply", ["/"] = "divide" })[op]
      calls[#calls + 1] = { name = name, args = { a = tonumber(a), b = tonumber(b) } }
    end
    if #calls == 0 then return { text = "Ask me for a factorial, a Fibonacci number or a sum like 6 * 7." } end
    return { tool_calls = calls }
  end
  -- the tool results came back: name each one
  local calls, lines = {}, {}
  for _, part in ipairs(req.messages[#req.messages - 1].parts) do
    if part.type == "tool_call" then calls[part.id] = part end
  end
  for _, part in ipairs(last.parts) do
    local c = calls[part.id]
    local what = c.args.n and string.format("%s(%d)", c.name, c.args.n)
      or string.format("%s(%s, %s)", c.name, c.args.a, c.args.b)
    lines[#lines + 1] = what .. " = " .. part.content
  end
  return { text = table.concat(lines, "\n") }
end)

return M
