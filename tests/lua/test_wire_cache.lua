-- The wire encoding caches (providers/wire.lua): a body built turn by turn
-- from cached pieces must be byte for byte the body built from scratch,
-- for both providers, across chunk boundaries and merged turns.
package.path = arg[0]:match("^(.*/)") .. "?.lua;" .. package.path
local T = require "t"
local json = require "llmdo.core.json"
local util = require "llmdo.util"
local A = require "llmdo.providers.anthropic"
local O = require "llmdo.providers.openai"

local big = string.rep("lorem ipsum ", 200) -- 2.4 KB: 64 KB chunks fill within a few dozen turns

local function body(p, msgs, spec)
  return json.encode(p.encode({ messages = msgs, tools = {}, settings = {}, instructions = "be brief" }, spec,
    {}), "s")
end

for _, case in ipairs { { A, { name = "claude-test", provider = "anthropic" } },
  { O, { name = "gpt-test", provider = "openai" } } } do
  local p, spec = case[1], case[2]
  local msgs = { { role = "user", parts = { { type = "text", text = "start " .. big } } } }
  for r = 1, 120 do
    msgs[#msgs + 1] = { role = "assistant", parts = {
      { type = "text", text = "thinking " .. r },
      { type = "tool_call", id = "c" .. r, name = "t", args = { n = r, s = big } } } }
    msgs[#msgs + 1] = { role = "tool", parts = {
      { type = "tool_result", id = "c" .. r, name = "t", content = big .. r, is_error = false } } }
    if r % 7 == 0 then -- a user turn right after tool results: merged into one wire turn (Anthropic)
      msgs[#msgs + 1] = { role = "user", parts = { { type = "text", text = "more " .. r } } }
    end
    if r % 11 == 0 then -- an assistant turn that sends nothing
      msgs[#msgs + 1] = { role = "assistant", parts = { { type = "text", text = "   " } } }
    end
    local incremental = body(p, msgs, spec)
    local fresh = body(p, util.deep_copy(msgs), spec)
    T.eq(incremental, fresh, spec.provider .. ": turn " .. r .. " matches a body built from scratch")
    local decoded = json.decode(incremental)
    local roles = {}
    for i, m in ipairs(decoded.messages) do roles[i] = m.role end
    if p == A then
      for i = 2, #roles do T.ok(roles[i] ~= roles[i - 1], "anthropic: turns alternate at turn " .. r) end
    end
    T.ok(#incremental > 64 * 1024 or r < 20, "bodies outgrow one chunk")
  end
  -- the next turn of a chat: a new list of the same messages, and more
  local next_turn = {}
  for i, m in ipairs(msgs) do next_turn[i] = m end
  next_turn[#next_turn + 1] = { role = "user", parts = { { type = "text", text = "and now?" } } }
  T.eq(body(p, next_turn, spec), body(p, util.deep_copy(next_turn), spec), spec.provider .. ": a chat's next turn")
  -- a history edited in the middle is not served from the cache
  local edited = {}
  for i, m in ipairs(next_turn) do edited[i] = m end
  edited[2] = { role = "assistant", parts = { { type = "text", text = "edited" } } }
  local b = body(p, edited, spec)
  T.eq(b, body(p, util.deep_copy(edited), spec), spec.provider .. ": an edited history")
  T.ok(b:find("edited", 1, true) ~= nil, spec.provider .. ": the edit is sent")
end

print(T.done("wire_cache"))
