-- A scripted model: a Lua function that plays the model, so the example
-- runs without a network or an API key.
local llmdo = require "llmdo"

local M = {}

M.greeter = llmdo.model(function(req)
  local text = req.messages[#req.messages].parts[1].text
  local name = text:match("[Ii]'m (%a+)") or text:match("[Mm]y name is (%a+)")
  if name then
    return { text = "Hello, " .. name .. "! Lovely to meet you." }
  end
  return { text = "Hello there! Lovely to meet you." }
end)

return M
