-- A scripted model for CLI tests. The first user prompt is a ';'-separated
-- list of turns; a turn is '&'-separated tool calls "tool:{json args}", or
-- "say", which answers with every tool result seen so far (errors marked E:,
-- attachments as [+media/type]).
local llmdo = require "llmdo"
local M = {}
M.script = llmdo.model(function(req)
  local steps = {}
  for s in req.messages[1].parts[1].text:gmatch("[^;]+") do steps[#steps + 1] = s end
  local turn = 0
  for _, m in ipairs(req.messages) do if m.role == "assistant" then turn = turn + 1 end end
  local step = steps[turn + 1]
  if not step or step == "say" then
    local seen = {}
    for _, m in ipairs(req.messages) do
      for _, p in ipairs(m.parts) do
        if p.type == "tool_result" then
          local att = {}
          for _, a in ipairs(p.attachments or {}) do att[#att + 1] = " [+" .. a.media_type .. "]" end
          seen[#seen + 1] = (p.is_error and "E:" or "") .. p.content .. table.concat(att)
        end
      end
    end
    return { text = table.concat(seen, " | ") }
  end
  local calls = {}
  for call in step:gmatch("[^&]+") do
    local name, args = call:match("^([%w_]+):(.*)$")
    calls[#calls + 1] = { name = name, args = llmdo.json.decode(args) }
  end
  return { tool_calls = calls }
end)
M.child = llmdo.model(function(req) return { text = "child got " .. req.messages[1].parts[1].text } end)
return M
