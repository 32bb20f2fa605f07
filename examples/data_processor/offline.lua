-- A scripted model for offline runs (--model lua:offline): load, compute,
-- notify, report - one step per turn, reading each tool result as it comes.
local llmdo = require "llmdo"

local M = {}

-- the results so far, by tool name
local function results(messages)
  local out = {}
  for _, m in ipairs(messages) do
    for _, p in ipairs(m.parts) do
      if p.type == "tool_result" then out[p.name] = p end
    end
  end
  return out
end

M.offline = llmdo.model(function(req)
  local ask = req.messages[1].parts[1].text
  local r = results(req.messages)
  if not r.load_csv then
    return { tool_calls = { { name = "load_csv", args = { path = ask:match("[%w_/.-]+%.csv") } } } }
  end
  if not r.calculate_stats then
    local values = {}
    for _, row in ipairs(llmdo.json.decode(r.load_csv.content).rows) do values[#values + 1] = row.amount end
    return { tool_calls = { { name = "calculate_stats", args = { values = values } } } }
  end
  local s = llmdo.json.decode(r.calculate_stats.content)
  local summary = string.format("%d sales, total %s, mean %s, median %s (min %s, max %s)",
    s.count, s.sum, s.mean, s.median, s.min, s.max)
  if not r.send_notification then
    return { tool_calls = { { name = "send_notification",
      args = { channel = ask:match("#[%w_-]+") or "#general", message = "Sales: " .. summary } } } }
  end
  -- a refusal comes back as the result {"error": ..., "error_type": "permission"}
  local ok, refusal = pcall(llmdo.json.decode, r.send_notification.content)
  local sent = ok and type(refusal) == "table" and refusal.error and "not sent (" .. refusal.error .. ")"
    or r.send_notification.content
  return { text = "Summary: " .. summary .. ".\nNotification: " .. sent }
end)

return M
