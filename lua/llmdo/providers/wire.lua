-- Helpers shared by the provider wire mappings.
local json = require "llmdo.core.json"
local sys = require "llmdo.core.sys"
local util = require "llmdo.util"

local M = {}

-- A file's bytes, base64-encoded (attachments are read when sent).
function M.read_base64(path)
  local bytes, err = util.read_file(path)
  if not bytes then util.fail("run", "Attachment not readable: " .. path .. " (" .. tostring(err) .. ")") end
  return sys.base64(bytes)
end

-- At most 300 characters of a response body, on one line, for messages.
function M.excerpt(text)
  text = tostring(text or ""):gsub("%s+", " "):match("^%s*(.-)%s*$")
  if #text > 300 then text = text:sub(1, 300) .. "..." end
  if text == "" then return "(empty response)" end
  return text
end

-- The provider's message from an error body: {"error": {"message": ...}},
-- {"error": "..."} or {"message": ...}; otherwise an excerpt of the text.
function M.error_message(text)
  local ok, body = pcall(json.decode, text)
  if ok and type(body) == "table" then
    if type(body.error) == "table" and body.error.message then return tostring(body.error.message) end
    if type(body.error) == "string" then return body.error end
    if body.message then return tostring(body.message) end
  end
  return M.excerpt(text)
end

-- The values of a table with integer keys, in key order, without holes.
function M.dense(t)
  local keys = {}
  for k in pairs(t) do
    if math.type(k) == "integer" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = t[k] end
  return out
end

return M
