-- A scripted stand-in for a real model, so the example runs offline. Swap
-- `model: lua:reviewer` in evaluator.worker for anthropic:claude-haiku-4-5
-- (with ANTHROPIC_API_KEY set) to have the decks really read.
local llmdo = require "llmdo"

local M = {}

M.reviewer = llmdo.model(function(req)
  local deck
  for _, part in ipairs(req.messages[#req.messages].parts) do
    if part.type == "attachment" then deck = part.path:match("([^/]+)%.pdf$") end
  end
  return { text = "# " .. deck .. "\n\nIdea: clear. Market: large. Team: strong. Verdict: worth a meeting.\n" }
end)

return M
