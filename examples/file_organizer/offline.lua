-- A scripted model for offline runs (--model lua:offline): list, ask for
-- names, rename what changes (the renames of one turn run concurrently,
-- each asking for approval), then report.
local llmdo = require "llmdo"

local M = {}

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function results(messages)
  local calls, out = {}, {}
  for _, m in ipairs(messages) do
    for _, p in ipairs(m.parts) do
      if p.type == "tool_call" then calls[p.id] = p end
      if p.type == "tool_result" then out[#out + 1] = { call = calls[p.id], content = p.content } end
    end
  end
  return out
end

M.offline = llmdo.model(function(req)
  local done = results(req.messages)
  if #done == 0 then return { tool_calls = { { name = "sh_shell", args = { command = "ls -1 -p" } } } } end
  local last = done[#done]
  if last.call.name == "sh_shell" and last.call.args.command == "ls -1 -p" then
    local files = {}
    for f in llmdo.json.decode(last.content).stdout:gmatch("[^\n]+") do
      if not f:match("/$") then files[#files + 1] = f end
    end
    return { tool_calls = { { name = "propose_names", args = { files = files } } } }
  end
  if last.call.name == "propose_names" then
    local moves = {}
    for old, new in pairs(llmdo.json.decode(last.content)) do
      if old ~= new then
        moves[#moves + 1] = { name = "sh_shell", args = { command = "mv -n -- " .. quote(old) .. " " .. quote(new) } }
      end
    end
    table.sort(moves, function(a, b) return a.args.command < b.args.command end)
    if #moves == 0 then return { text = "Every name is already tidy." } end
    return { tool_calls = moves }
  end
  local lines = {}
  for _, r in ipairs(done) do
    local old, new = (r.call.args.command or ""):match("^mv %-n %-%- '(.-)' '(.-)'$")
    if old then
      local refused = llmdo.json.decode(r.content).error
      lines[#lines + 1] = old .. " -> " .. new .. (refused and "  (not renamed: " .. refused .. ")" or "")
    end
  end
  return { text = table.concat(lines, "\n") }
end)

return M
