-- A scripted model for offline runs (--model lua:offline): read the log,
-- write it back with one more line, answer with that line. The write is
-- what the approval prompt asks about.
local llmdo = require "llmdo"

local M = {}
local LOG = "notes/activity.log"

M.offline = llmdo.model(function(req)
  local entry = req.messages[1].parts[1].text
  local last = req.messages[#req.messages]
  if last.role == "user" then
    return { tool_calls = { { name = "read_file", args = { path = LOG } } } }
  end
  local result = last.parts[1]
  if result.name == "read_file" then
    local old = result.is_error and "" or llmdo.json.decode(result.content).content
    local date = entry:match("%d%d%d%d%-%d%d%-%d%d") or old:match(".*(%d%d%d%d%-%d%d%-%d%d)") or "undated"
    local line = "- " .. date .. " " .. entry:gsub("^%d%d%d%d%-%d%d%-%d%d:?%s*", "")
    return { tool_calls = { { name = "write_file", args = { path = LOG, content = old .. line .. "\n" } } } }
  end
  if result.is_error or result.content:match('"error_type"') then
    return { text = "Not logged: " .. result.content }
  end
  local content = req.messages[#req.messages - 1].parts[1].args.content
  return { text = "Logged: " .. content:match("([^\n]+)\n$") }
end)

return M
