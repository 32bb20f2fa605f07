-- A scripted model for offline runs (--model lua:offline). It works like a
-- careful model would: list the source files and grep for TODO/FIXME in one
-- turn, count the files' lines in the next, then report from the outputs.
local llmdo = require "llmdo"

local M = {}

-- the decoded output of the first command that began with `prefix`, if it ran
local function output(messages, prefix)
  local commands = {}
  for _, m in ipairs(messages) do
    for _, p in ipairs(m.parts) do
      if p.type == "tool_call" then
        commands[p.id] = p.args.command
      elseif p.type == "tool_result" and commands[p.id]:find(prefix, 1, true) == 1 then
        return llmdo.json.decode(p.content)
      end
    end
  end
end

local function shell(command) return { name = "sh_shell", args = { command = command } } end

M.offline = llmdo.model(function(req)
  local found, notes = output(req.messages, "find"), output(req.messages, "grep")
  if not found then
    -- no shell: the words go to find and grep as they are, no quoting needed
    return { tool_calls = { shell("find . -type f -name *.py -not -path */.git/*"),
      shell("grep -rn -e TODO -e FIXME --include=*.py .") } }
  end
  local files = {}
  for f in found.stdout:gmatch("[^\n]+") do files[#files + 1] = f end
  table.sort(files)
  if #files == 0 then return { text = "No Python files here." } end
  local counted = output(req.messages, "wc")
  if not counted then return { tool_calls = { shell("wc -l " .. table.concat(files, " ")) } } end
  local todos = {}
  for line in notes.stdout:gmatch("[^\n]+") do
    local where, note = line:match("^%./(.-:%d+):.-(%u+:.*)$")
    todos[#todos + 1] = "  " .. (where and where .. " " .. note or line)
  end
  table.sort(todos)
  return { text = string.format("%d Python files, %s lines.\n%d open notes:\n%s", #files,
    counted.stdout:match("(%d+) total") or counted.stdout:match("%d+"), #todos, table.concat(todos, "\n")) }
end)

return M
