-- Helpers shared by the provider wire mappings.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
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

-- An empty table that encodes as {} (tool arguments are an object).
local OBJECT = { __jsontype = "object" }
function M.object(t)
  return setmetatable(t or {}, OBJECT)
end

-- Tool-call arguments sent as JSON text: the table, or an empty one and
-- why (args_error) when the text is not a JSON object. Never raises: a
-- model that writes broken JSON gets told and may try again.
function M.tool_args(text, name)
  if not text:match("%S") then return M.object() end
  local ok, v = pcall(json.decode, text)
  if ok and type(v) == "table" and text:match("^%s*{") then return v end
  local why = ok and "not a JSON object" or "not valid JSON (" .. tostring(v):gsub("^.*: ", "") .. ")"
  return M.object(), "the arguments of tool call '" .. tostring(name) .. "' are " .. why .. ": " .. M.excerpt(text)
end

-- The message of an in-band error event ({"error": {type, message}}),
-- raised so the backend can tell it from a bug: "overloaded_error: Overloaded".
function M.stream_error(d, raw)
  local e = type(d) == "table" and d.error
  local msg
  if type(e) == "table" then
    msg = tostring(e.message or raw)
    if type(e.type) == "string" and e.type ~= "" then msg = e.type .. ": " .. msg end
  elseif type(e) == "string" then
    msg = e
  else
    msg = tostring(raw)
  end
  error(E.new("model", msg, { in_stream = true }), 0)
end

-- Builds a canonical usage table; every count is an integer.
function M.usage(input, output, cache_read, cache_write)
  local function n(v) return math.tointeger(tonumber(v) or 0) or 0 end
  return { input_tokens = n(input), output_tokens = n(output), cache_read = n(cache_read),
    cache_write = n(cache_write) }
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
