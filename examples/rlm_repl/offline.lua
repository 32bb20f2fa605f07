-- A scripted RLM for offline runs (--model lua:offline). At depth 1 it
-- splits the log in the REPL, asks two copies of itself to count one half
-- each, and adds their answers up in the REPL; a copy counts with code.
local llmdo = require "llmdo"

local M = {}

local function repl(code) return { tool_calls = { { name = "repl_run", args = { code = code } } } } end

local SPLIT = [[
lines = {}
for line in context:gmatch("[^\n]+") do lines[#lines + 1] = line end
local half = #lines // 2
chunks = { table.concat(lines, "\n", 1, half), table.concat(lines, "\n", half + 1) }
return #lines, #chunks]]

local COUNT = [[
local counts, names = {}, {}
for service in %s:gmatch("ERROR +(%%S+)") do
  if not counts[service] then names[#names + 1] = service end
  counts[service] = (counts[service] or 0) + 1
end
table.sort(names)
for i, n in ipairs(names) do names[i] = n .. "=" .. counts[n] end
return table.concat(names, ",")]]

local MERGE = [==[
totals = {}
for _, answer in ipairs({ %q, %q }) do
  for service, n in answer:gmatch("(%%w+)=(%%d+)") do totals[service] = (totals[service] or 0) + tonumber(n) end
end
local all, top = 0, nil
for service, n in pairs(totals) do
  all = all + n
  if not top or n > totals[top] or (n == totals[top] and service < top) then top = service end
end
return all, top, totals[top]]==]

M.offline = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  local result = last.role == "tool" and last.parts[1] or nil
  if req.depth > 1 then -- a copy: count in the chunk the question names
    if not result then return repl(COUNT:format(req.messages[1].parts[1].text:match("chunks%[%d%]"))) end
    return { text = llmdo.json.decode(result.content).returned }
  end
  local turn = #req.messages // 2 + 1 -- 1: split, 2: sub-calls, 3: merge, 4: answer
  if turn == 1 then return repl(SPLIT) end
  if turn == 2 then
    local ask = "Count the ERROR lines per service in %s. Answer as service=count pairs, comma-separated."
    return { tool_calls = { { name = "rlm", args = { input = ask:format("chunks[1]") } },
      { name = "rlm", args = { input = ask:format("chunks[2]") } } } }
  end
  if turn == 3 then return repl(MERGE:format(last.parts[1].content, last.parts[2].content)) end
  local all, top, n = llmdo.json.decode(result.content).returned:match("^(%d+)\t(%w+)\t(%d+)$")
  return { text = string.format("The log has %s ERROR lines; %s logged the most (%s).", all, top, n) }
end)

return M
