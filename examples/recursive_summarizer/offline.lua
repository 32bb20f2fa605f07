-- A scripted model for offline runs (--model lua:offline) that follows the
-- summarizer's instructions to the letter. Its "summary" of a paragraph is
-- the paragraph's first sentence.
local llmdo = require "llmdo"

local M = {}
local LEAF = 1500

local function call(name, args) return { tool_calls = { { name = name, args = args } } } end

M.offline = llmdo.model(function(req)
  local ask = req.messages[1].parts[1].text
  local path, start, stop = ask:match("^Summarize (.-) from character (%d+) to (.-)%.$")
  start, stop = tonumber(start), tonumber(stop:match("%d+"))
  local last = req.messages[#req.messages]
  local result = last.role == "tool" and last.parts[1] or nil
  if not stop then -- the file's length, from the first read_file
    local first = req.messages[3] and req.messages[3].parts[1]
    if not first then return call("read_file", { path = path, max_chars = 1 }) end
    stop = llmdo.json.decode(first.content).total_chars
  end
  if stop - start > LEAF then
    if result and result.name == "summarizer" then
      local parts = {}
      for i, p in ipairs(last.parts) do parts[i] = p.content end
      return { text = table.concat(parts, "\n") }
    end
    local mid = (start + stop) // 2
    return { tool_calls = { { name = "summarizer", args = { path = path, start = start, ["end"] = mid } },
      { name = "summarizer", args = { path = path, start = mid, ["end"] = stop } } } }
  end
  if not result or result.name ~= "read_file" or not result.content:find('"offset":' .. start, 1, true) then
    return call("read_file", { path = path, offset = start, max_chars = stop - start + 300 })
  end
  local text = llmdo.json.decode(result.content).content
  local bullets = {}
  -- paragraphs beginning inside the window: after a blank line, or at 0
  local from = start == 0 and 1 or nil
  local pos = 1
  while true do
    if from and from <= stop - start then
      bullets[#bullets + 1] = "- " .. text:match("^(.-%.)%s", from)
    end
    local _, e = text:find("\n\n", pos, true)
    if not e then break end
    from, pos = e + 1, e + 1
  end
  return { text = #bullets > 0 and table.concat(bullets, "\n") or "(no paragraph begins here)" }
end)

return M
