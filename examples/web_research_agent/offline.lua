-- A scripted model for offline runs (--model lua:offline), playing the three
-- workers. The web tools still make real requests: point
-- SEARCH_API_BASE_URL at a loopback server (the test does).
local llmdo = require "llmdo"

local M = {}
local json = llmdo.json

local function first_sentence(text) return text:match("^%s*(.-[%.!?])%s") or text:sub(1, 200) end

-- consolidator: one finding per source, its first sentence
local function consolidate(req)
  local data = json.decode(req.messages[1].parts[1].text)
  local lines = {}
  for _, s in ipairs(data.sources) do lines[#lines + 1] = "- " .. first_sentence(s.text) .. " [" .. s.n .. "]" end
  return { text = table.concat(lines, "\n") }
end

-- reporter: the report around the findings
local function report(req)
  local data = json.decode(req.messages[1].parts[1].text)
  local out = { "# " .. data.question, "", "## Summary", "",
    string.format("%d sources were consulted. The findings below cite them by number.", #data.sources), "",
    "## Findings", "", data.findings, "", "## Sources", "" }
  for _, s in ipairs(data.sources) do out[#out + 1] = string.format("%d. [%s](%s)", s.n, s.title, s.url) end
  return { text = table.concat(out, "\n") .. "\n" }
end

-- research: one step a turn
local function research(req)
  local question = req.messages[1].parts[1].text
  local seen = {}
  for _, m in ipairs(req.messages) do
    for _, p in ipairs(m.parts) do
      if p.type == "tool_result" then seen[p.name] = p.content end
    end
  end
  local function call(name, args) return { tool_calls = { { name = name, args = args } } } end
  if not seen.search_web then return call("search_web", { query = question, count = 5 }) end
  if not seen.fetch_pages then
    local urls = {}
    for i, hit in ipairs(json.decode(seen.search_web)) do
      if i <= 4 then urls[i] = hit.url end
    end
    return call("fetch_pages", { urls = urls })
  end
  local sources = {}
  for _, page in ipairs(json.decode(seen.fetch_pages)) do
    if not page.error then
      sources[#sources + 1] = { n = #sources + 1, url = page.url, title = page.title, text = page.text }
    end
  end
  if not seen.consolidator then
    return call("consolidator", { input = json.encode({ question = question, sources = sources }, "s") })
  end
  if not seen.reporter then
    for _, s in ipairs(sources) do s.text = nil end
    return call("reporter", { input = json.encode({ question = question, findings = seen.consolidator,
      sources = sources }, "s") })
  end
  if not seen.save_report then return call("save_report", { title = question, markdown = seen.reporter }) end
  return { text = "Report saved to " .. seen.save_report }
end

M.offline = llmdo.model(function(req)
  if req.worker == "consolidator" then return consolidate(req) end
  if req.worker == "reporter" then return report(req) end
  return research(req)
end)

return M
