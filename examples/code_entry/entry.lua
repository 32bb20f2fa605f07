local llmdo = require "llmdo"

local M = {}

M.main = llmdo.entry {
  main = function(_, rt)
    local decks = rt:list_files("input", "*.pdf") -- deterministic: Lua decides
    local done = {}
    for _, file in ipairs(decks) do
      local report = rt:call_agent("evaluator", {       -- the worker reasons
        input = "Evaluate this pitch deck.",
        attachments = { "input/" .. file },
      })
      local slug = file:gsub("%.pdf$", "")
      rt:write_file("evaluations/" .. slug .. ".md", report) -- deterministic again
      done[#done + 1] = slug
    end
    return "Evaluated " .. #done .. " pitch deck(s): " .. table.concat(done, ", ")
  end,
}

return M
