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

-- Bytes read once for an attachment part (input.lua: one a model named,
-- read beneath its root), kept beside the part, not in it.
local pinned = setmetatable({}, { __mode = "k" })
function M.pin(part, bytes) pinned[part] = bytes end

-- An attachment part's bytes, base64-encoded: its data (a tool result's
-- image), the bytes pinned to it, or its file's.
function M.base64_of(p)
  if p.data then return p.data end
  local bytes = pinned[p]
  if bytes then return sys.base64(bytes) end
  return M.read_base64(p.path)
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
-- why (args_error: "not valid JSON (why): text", "not a JSON object:
-- text"), which the tool plane tells the model. Never raises: a model that
-- writes broken JSON gets told and may try again.
function M.tool_args(text)
  if not text:match("%S") then return M.object() end
  local ok, v = pcall(json.decode, text)
  if ok and type(v) == "table" and text:match("^%s*{") then return v end
  local why = ok and "not a JSON object" or "not valid JSON (" .. tostring(v):gsub("^.*: ", "") .. ")"
  return M.object(), why .. ": " .. M.excerpt(text)
end

-- In-band error types that say "try again later" (exit status 75).
local TRANSIENT = { overloaded_error = true, rate_limit_error = true, api_error = true, server_error = true }

-- The message of an in-band error event ({"error": {type, message}}),
-- raised so the backend can tell it from a bug: "overloaded_error: Overloaded".
function M.stream_error(d, raw)
  local e = type(d) == "table" and d.error
  local msg, transient
  if type(e) == "table" then
    msg = tostring(e.message or raw)
    if type(e.type) == "string" and e.type ~= "" then msg = e.type .. ": " .. msg end
    transient = TRANSIENT[e.type]
  elseif type(e) == "string" then
    msg = e
  else
    msg = tostring(raw)
  end
  error(E.new("model", msg, { in_stream = true, transient = transient }), 0)
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

-- Encoded once, sent every turn. A conversation's messages do not change
-- once recorded, so each is mapped to the wire and encoded to JSON once;
-- later requests splice that text in (a "raw" value of the JSON encoder)
-- instead of rebuilding and re-encoding the whole history every turn.
local RAW = { __jsontype = "raw" }
function M.raw(json_text) return setmetatable({ json_text }, RAW) end

-- A cache, weak in its keys (canonical messages and parts), of what
-- build(key) returns, encoded: a raw value, or a list of them when build
-- returns a list (`many`); false when build returns nil.
function M.encode_cache(build, many)
  local cache = setmetatable({}, { __mode = "k" })
  return function(key)
    local v = cache[key]
    if v == nil then
      local w = build(key)
      if w == nil then
        v = false
      elseif many then
        v = {}
        for i, x in ipairs(w) do v[i] = M.raw(json.encode(x, "s")) end
      else
        v = M.raw(json.encode(w, "s"))
      end
      cache[key] = v
    end
    return v or nil
  end
end

-- The JSON of a history's first messages, grown as the history grows:
-- piece(i) gives the text of canonical message i (nil: it adds nothing).
-- Returns raw values to splice into the body's message array - a few
-- memcpys per request instead of one encoding per message. The text is
-- kept in chunks of about CHUNK bytes (each a comma-joined run of
-- messages), so a turn copies the newest chunk, not the whole history.
-- The cache is found by the history's first message, so the next turn of a
-- chat (a new list holding the same messages, and more) finds it too; it is
-- used only if every message it covers is still in its place (checked once
-- per list: a call's history only ever grows).
local CHUNK = 16 * 1024
local prefixes = setmetatable({}, { __mode = "k" })
function M.prefix(list, upto, piece)
  local st = list[1] and prefixes[list[1]]
  local valid = st and st.n <= upto
  if valid and st.list == list then -- a call's own history only grows: its last message is proof
    valid = st.n == 0 or list[st.n] == st.items[st.n]
  elseif valid then
    for i = 1, st.n do
      if list[i] ~= st.items[i] then
        valid = false
        break
      end
    end
  end
  if not valid then
    st = { n = 0, chunks = {}, items = {} }
    if list[1] then prefixes[list[1]] = st end
  end
  st.list = list
  if st.n < upto then
    local chunks = st.chunks
    for i = st.n + 1, upto do
      st.items[i] = list[i]
      local text = piece(i)
      if text then
        local last = chunks[#chunks]
        if last and #last[1] < CHUNK then
          last[1] = last[1] .. "," .. text
        else
          chunks[#chunks + 1] = M.raw(text)
        end
      end
    end
    st.n = upto
  end
  return st.chunks
end

return M
