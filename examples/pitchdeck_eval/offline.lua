-- A scripted model for offline runs (--model lua:offline). It plays both
-- workers: main (list, evaluate all decks in one turn, write all reports in
-- one turn, answer) and pitch_evaluator, which "reads" the PDF by pulling
-- the text strings out of its page (the decks in input/ are simple).
local llmdo = require "llmdo"

local M = {}

local function deck_lines(path)
  local f = assert(io.open(path, "rb"))
  local pdf = f:read("a")
  f:close()
  local lines = {}
  for s in pdf:gmatch("%((.-)%) '") do lines[#lines + 1] = s end
  return lines
end

local function evaluate(req)
  for _, part in ipairs(req.messages[1].parts) do
    if part.type == "attachment" and part.media_type == "application/pdf" then
      local lines = deck_lines(part.path)
      local field = {}
      for _, l in ipairs(lines) do
        local k, v = l:match("^(%a+): (.*)$")
        if k then field[k] = v end
      end
      local verdict = (field.Traction or ""):find("revenue") and "meet - the deck shows revenue."
        or "pass - no revenue yet."
      return { text = string.format("# %s\n\n- **Problem:** %s\n- **Solution:** %s\n- **Traction:** %s\n"
        .. "- **Ask:** %s\n\n**Verdict:** %s\n", lines[1], field.Problem, field.Solution,
        field.Traction or "none given", field.Ask, verdict) }
    end
  end
  return { text = "No deck was attached." }
end

local function slug(file) return (file:gsub("%.pdf$", ""):lower():gsub("[^%w]+", "-")) end

M.offline = llmdo.model(function(req)
  if req.worker == "pitch_evaluator" then return evaluate(req) end
  local last = req.messages[#req.messages]
  if last.role == "user" then
    return { tool_calls = { { name = "list_files", args = { path = "input", pattern = "*.pdf" } } } }
  end
  local first = last.parts[1]
  if first.name == "list_files" then
    local calls = {}
    for i, file in ipairs(llmdo.json.decode(first.content)) do
      calls[i] = { name = "pitch_evaluator",
        args = { input = "Evaluate this pitch deck.", attachments = { "input/" .. file } } }
    end
    return { tool_calls = calls }
  end
  if first.name == "pitch_evaluator" then
    local asked, calls = req.messages[#req.messages - 1].parts, {}
    for i, part in ipairs(last.parts) do
      local file = asked[i].args.attachments[1]:match("[^/]+$")
      local path = "evaluations/" .. slug(file) .. ".md"
      calls[i] = { name = "write_file", args = { path = path, content = part.content } }
    end
    return { tool_calls = calls }
  end
  -- the reports are written: answer with each slug and its verdict
  local lines = {}
  for _, call in ipairs(req.messages[#req.messages - 1].parts) do
    local verdict = call.args.content:match("%*%*Verdict:%*%* (%a+)")
    lines[#lines + 1] = call.args.path:match("([^/]+)%.md$") .. ": " .. verdict
  end
  return { text = table.concat(lines, "\n") }
end)

return M
