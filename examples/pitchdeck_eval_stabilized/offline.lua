-- A scripted model for offline runs (--model lua:offline), for both workers.
-- main follows list_pitchdecks to the letter; pitch_evaluator takes the
-- text strings of the (simple) PDF page as what it "read".
local llmdo = require "llmdo"

local M = {}

local function report(pdf)
  local title, facts, md = nil, {}, {}
  for s in pdf:gmatch("%((.-)%) '") do
    local k, v = s:match("^(%a+): (.*)$")
    if k then facts[#facts + 1], facts[k] = k, v else title = title or s end
  end
  md[1] = "# " .. title .. "\n"
  for _, k in ipairs(facts) do md[#md + 1] = "- **" .. k .. ":** " .. facts[k] end
  local meet = (facts.Traction or ""):match("revenue")
  md[#md + 1] = "\n**Verdict:** " .. (meet and "meet - revenue already." or "pass - nothing sold yet.") .. "\n"
  return table.concat(md, "\n")
end

M.offline = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if req.worker == "pitch_evaluator" then
    local f = assert(io.open(last.parts[2].path, "rb")) -- parts: the text, then the attachment
    local text = report(f:read("a"))
    f:close()
    return { text = text }
  end
  if last.role == "user" then return { tool_calls = { { name = "list_pitchdecks", args = {} } } } end
  local r = last.parts[1]
  if r.name == "list_pitchdecks" then
    local calls = {}
    for _, d in ipairs(llmdo.json.decode(r.content)) do
      local args = { input = "Evaluate this pitch deck.", attachments = { d.file } }
      calls[#calls + 1] = { name = "pitch_evaluator", args = args }
    end
    return { tool_calls = calls }
  end
  local decks = {}
  for _, m in ipairs(req.messages) do
    for _, p in ipairs(m.parts) do
      if p.name == "list_pitchdecks" and p.type == "tool_result" then decks = llmdo.json.decode(p.content) end
    end
  end
  if r.name == "pitch_evaluator" then
    local calls = {}
    for i, p in ipairs(last.parts) do
      calls[i] = { name = "write_file", args = { path = decks[i].output_path, content = p.content } }
    end
    return { tool_calls = calls }
  end
  local lines = {}
  for i, d in ipairs(decks) do
    lines[i] = d.slug .. ": " .. req.messages[#req.messages - 1].parts[i].args.content:match("Verdict:%*%* (%a+)")
  end
  return { text = table.concat(lines, "\n") }
end)

return M
