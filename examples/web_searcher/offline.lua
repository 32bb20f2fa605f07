-- The offline stand-in (--model lua:offline). Web search runs on
-- Anthropic's servers, so a scripted model cannot search; it answers with
-- what a run would do. The test runs the real path against a loopback
-- server that answers like the Messages API (tests/mock_provider.py).
local llmdo = require "llmdo"

local M = {}

M.offline = llmdo.model(function(req)
  return { text = "(offline) I would search the web (at most 3 searches) for: " .. req.messages[1].parts[1].text }
end)

return M
