-- A scripted model, so the batch runs offline: --model lua:offline. It
-- labels a ticket by its words, as a model would by its meaning.
local llmdo = require "llmdo"

local M = {}

local LABELS = {
  { "billing", { "invoice", "charge", "refund", "price" } },
  { "outage", { "down", "unreachable", "timeout", "503" } },
  { "bug", { "crash", "error", "wrong", "broken" } },
  { "account", { "password", "login", "email", "2fa" } },
}

M.offline = llmdo.model(function(req)
  local text = req.messages[#req.messages].parts[1].text:lower()
  for _, l in ipairs(LABELS) do
    for _, word in ipairs(l[2]) do
      if text:find(word, 1, true) then return { text = l[1] } end
    end
  end
  return { text = "other" }
end)

return M
