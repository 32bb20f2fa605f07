-- The built-in offline model, `model: test`. On a user turn it calls every
-- offered tool once with arguments made from the tool's schema; once the
-- results are back it answers with text naming them, as JSON
-- {"tool": result, ...}. With no tools it answers "success (no tool calls)",
-- as pydantic-ai's TestModel does.
local json = require "llmdo.core.json"

local M = {}

-- A value that satisfies a (simple) JSON Schema.
local function example(s, depth)
  if type(s) ~= "table" or depth > 8 then return "a" end
  if s.default ~= nil then return s.default end
  if s.const ~= nil then return s.const end
  if type(s.enum) == "table" and s.enum[1] ~= nil then return s.enum[1] end
  local alt = s.anyOf or s.oneOf
  if type(alt) == "table" and alt[1] then return example(alt[1], depth + 1) end
  local t = s.type
  if type(t) == "table" then t = t[1] end
  if t == "integer" or t == "number" then
    local v = s.minimum or (s.exclusiveMinimum and s.exclusiveMinimum + 1) or 0
    if t == "integer" then v = math.ceil(v) end
    return v
  elseif t == "boolean" then
    return false
  elseif t == "null" then
    return json.null
  elseif t == "array" then
    local out = json.array()
    for i = 1, (s.minItems or 0) do out[i] = example(s.items, depth + 1) end
    return out
  elseif t == "object" or s.properties then
    local out = {}
    for k, ps in pairs(s.properties or {}) do out[k] = example(ps, depth + 1) end
    return out
  end
  local n = s.minLength or 1
  return string.rep("a", n)
end
M.example = example

function M.respond(req)
  local last = req.messages[#req.messages]
  if last and last.role == "tool" then
    local results = {}
    for _, part in ipairs(last.parts) do
      if part.type == "tool_result" then results[part.name] = part.content end
    end
    return { text = json.encode(results, "s") }
  end
  if #req.tools == 0 then return { text = "success (no tool calls)" } end
  local calls = {}
  for i, tool in ipairs(req.tools) do
    calls[i] = { id = "test_" .. i, name = tool.name, args = example(tool.parameters, 0) }
  end
  return { tool_calls = calls }
end

return M
