-- A scripted planner for offline runs (--model lua:offline). A real model
-- invents the subtasks; this one knows one playbook, and treats any task
-- it has no entry for as a single action.
local llmdo = require "llmdo"

local M = {}

local PLAYBOOK = {
  ["Launch a neighbourhood book swap"] = { "Find a venue", "Collect the first books", "Spread the word" },
  ["Find a venue"] = { "List three candidate places", "Ask the owners", "Agree a weekly time slot" },
  ["Collect the first books"] = { "Ask neighbours for donations", "Sort and label the books" },
  ["Spread the word"] = { "Design a flyer", "Post the flyer in shops and online" },
  ["Design a flyer"] = { "Write the text", "Pick a picture" },
  ["Write the text"] = { "Draft the headline", "List the date, time and place" },
}

M.offline = llmdo.model(function(req)
  local ask = req.messages[1].parts[1].text
  local task, depth = ask:match("^Task: ([^\n]+)"), tonumber(ask:match("Remaining depth: (%d+)"))
  local subtasks = PLAYBOOK[task]
  if depth == 0 or not subtasks then return { text = "- " .. task } end
  local last = req.messages[#req.messages]
  if last.role == "user" then
    local calls = {}
    for i, sub in ipairs(subtasks) do
      calls[i] = { name = "planner", args = { task = sub, context = task, remaining_depth = depth - 1 } }
    end
    return { tool_calls = calls }
  end
  local lines = { "- " .. task }
  for _, part in ipairs(last.parts) do
    lines[#lines + 1] = "  " .. part.content:gsub("\n", "\n  ")
  end
  return { text = table.concat(lines, "\n") }
end)

return M
