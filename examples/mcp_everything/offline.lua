-- A scripted model, so the example runs without a provider: --model
-- lua:offline. It calls the three tools at once, then reports what came back
-- (the image arrives as an attachment of the tool result).
local llmdo = require "llmdo"

local M = {}

M.offline = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "user" then
    return { tool_calls = {
      { name = "everything_echo", args = { message = "hello from llmdo" } },
      { name = "everything_add", args = { a = 2, b = 3 } },
      { name = "everything_getTinyImage", args = {} },
    } }
  end
  local lines = {}
  for _, part in ipairs(last.parts) do
    local shown = part.content:gsub("%s+", " ")
    for _, a in ipairs(part.attachments or {}) do shown = shown .. " (an attached " .. a.media_type .. ")" end
    lines[#lines + 1] = part.name .. ": " .. shown
  end
  return { text = table.concat(lines, "\n") }
end)

return M
