-- The provider mappings at the Lua level: malformed and cut tool arguments
-- become args_error, prompt-caching marks, text joining, default output
-- limits, in-band errors, and stream accumulation that stays linear.
-- Usage: llmdo lua test_providers.lua
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local anthropic = require "llmdo.providers.anthropic"
local openai = require "llmdo.providers.openai"

-- Feeds Anthropic events ({name, data-table}) to a fresh stream.
local function ant_stream(events)
  local st = anthropic.stream()
  for _, e in ipairs(events) do st.event(st, { event = e[1], data = json.encode(e[2]) }) end
  return st
end

local function ant_events(block, deltas, closed, stop)
  local ev = { { "message_start", { type = "message_start", message = { usage = { input_tokens = 5 } } } },
    { "content_block_start", { type = "content_block_start", index = 0, content_block = block } } }
  for _, d in ipairs(deltas) do
    ev[#ev + 1] = { "content_block_delta", { type = "content_block_delta", index = 0, delta = d } }
  end
  if closed then ev[#ev + 1] = { "content_block_stop", { type = "content_block_stop", index = 0 } } end
  if stop then
    ev[#ev + 1] = { "message_delta", { type = "message_delta", delta = { stop_reason = stop } } }
    ev[#ev + 1] = { "message_stop", { type = "message_stop" } }
  end
  return ev
end

local TOOL_BLOCK = { type = "tool_use", id = "toolu_1", name = "add", input = json.decode("{}") }
local function json_delta(s) return { type = "input_json_delta", partial_json = s } end

-- Anthropic: input_json that does not parse, at max_tokens
do
  local st = ant_stream(ant_events(TOOL_BLOCK, { json_delta('{"a": 1, "b": '), json_delta("2") }, true, "max_tokens"))
  T.eq(st.ended, true, "message_stop ends the stream")
  local r = st.finish()
  T.eq(r.stop_reason, "max_tokens", "stop reason")
  T.eq(#r.tool_calls, 1, "the call is kept")
  T.eq(json.encode(r.tool_calls[1].args), "{}", "args: an empty object")
  T.eq(r.tool_calls[1].args_error, "not valid JSON (expected ',' or '}' "
    .. "at byte 16): {\"a\": 1, \"b\": 2", "args_error")
  T.eq(r.parts[1], r.tool_calls[1], "the part is the call")
end

-- Anthropic: a tool_use block the stream never closed
do
  local st = ant_stream(ant_events(TOOL_BLOCK, { json_delta('{"a": 1}') }, false, nil))
  T.eq(st.ended, false, "no message_stop")
  local r = st.finish()
  T.eq(json.encode(r.tool_calls[1].args), "{}", "unclosed: empty args")
  T.ok(r.tool_calls[1].args_error:find("no content_block_stop", 1, true), "unclosed: args_error says why")
end

-- Anthropic: a whole input_json parses; no deltas at all is {}
do
  local r = ant_stream(ant_events(TOOL_BLOCK, { json_delta('{"a":'), json_delta(" 1}") }, true, "tool_use")).finish()
  T.eq(json.encode(r.tool_calls[1].args, "s"), '{"a":1}', "fragments joined")
  T.eq(r.tool_calls[1].args_error, nil, "no args_error")
  r = ant_stream(ant_events(TOOL_BLOCK, {}, true, "tool_use")).finish()
  T.eq(json.encode(r.tool_calls[1].args), "{}", "no deltas: {}")
end

-- OpenAI: malformed, non-object, object and empty arguments
do
  local function decode(args)
    return openai.decode { choices = { { finish_reason = "tool_calls", message = { tool_calls = {
      { id = "c1", type = "function", ["function"] = { name = "add", arguments = args } } } } } } }
  end
  local r = decode('{"a": 1,,}')
  T.eq(json.encode(r.tool_calls[1].args), "{}", "malformed: {}")
  T.ok(r.tool_calls[1].args_error:find("^not valid JSON"), "malformed: why")
  T.eq(decode('"just a string"').tool_calls[1].args_error,
    "not a JSON object: \"just a string\"", "a string is no object")
  T.eq(decode("").tool_calls[1].args_error, nil, "empty arguments are {}")
  T.eq(decode(json.decode('{"a": 2}')).tool_calls[1].args.a, 2, "an object as arguments (llama.cpp)")
  local st = openai.stream()
  for _, d in ipairs {
    { choices = { { index = 0, delta = { tool_calls = { { index = 0, id = "c1", ["function"] = { name = "add",
      arguments = '{"a": ' } } } } } } },
    { choices = { { index = 0, delta = {}, finish_reason = "length" } } },
  } do st.event(st, { event = "message", data = json.encode(d) }) end
  T.eq(st.ended, true, "finish_reason ends the stream")
  r = st.finish()
  T.eq(r.stop_reason, "max_tokens", "length with a call")
  T.ok(r.tool_calls[1].args_error:find("not valid JSON", 1, true), "streamed malformed args")
end

-- OpenAI: [DONE] alone ends a stream too (servers that send no finish_reason)
do
  local st = openai.stream()
  st.event(st, { event = "message", data = json.encode { choices = { { index = 0, delta = { content = "hi" } } } } })
  T.eq(st.ended, false, "not ended before [DONE]")
  st.event(st, { event = "message", data = '{"error": null, "choices": [{"index": 0, "delta": {"content": "!"}}]}' })
  st.event(st, { event = "message", data = "[DONE]" })
  T.eq(st.ended, true, "[DONE]")
  local r = st.finish()
  T.eq(r.stop_reason, "end_turn", "no finish_reason: end_turn")
  T.eq(r.text, "hi!", "an \"error\": null chunk is no error")
end

-- In-band errors carry their type
do
  local ok, err = pcall(ant_stream, { { "error", { type = "error", error = { type = "overloaded_error",
    message = "Overloaded" } } } })
  T.eq(ok, false, "an error event raises")
  T.ok(E.is(err) and err.in_stream, "a model error from the stream")
  T.eq(err.message, "overloaded_error: Overloaded", "type: message")
end

-- Text blocks: a blank line between them, none between the pieces of a cited passage
do
  local r = anthropic.decode { stop_reason = "end_turn", content = {
    { type = "text", text = "One." }, { type = "text", text = "\n" }, { type = "text", text = "Two: " },
    { type = "text", text = "cited", citations = { { type = "web_search_result_location" } } },
    { type = "text", text = " and on." } } }
  T.eq(r.text, "One.\n\nTwo: cited and on.", "joined")
  T.eq(#r.parts, 4, "the whitespace block is not a part")
end

-- Default output limits
T.eq(anthropic.default_max_tokens("claude-sonnet-4-5-20250929"), 64000, "sonnet 4.5")
T.eq(anthropic.default_max_tokens("claude-opus-4-1"), 32000, "opus 4.1")
T.eq(anthropic.default_max_tokens("claude-opus-4-5"), 64000, "opus 4.5")
T.eq(anthropic.default_max_tokens("claude-haiku-4-5"), 64000, "haiku 4.5")
T.eq(anthropic.default_max_tokens("claude-3-5-haiku-latest"), 8192, "3.5 haiku")
T.eq(anthropic.default_max_tokens("claude-3-haiku-20240307"), 4096, "3 haiku")
T.eq(anthropic.default_max_tokens("some-proxy-model"), 8192, "unknown")
T.eq(anthropic.supported_settings.thinking, true, "anthropic takes thinking")
T.eq(anthropic.supported_settings.seed, nil, "anthropic has no seed")
T.eq(openai.supported_settings.reasoning_effort, true, "openai takes reasoning_effort")
T.eq(openai.supported_settings.thinking, nil, "openai has no thinking budget")

-- Caching changes nothing but the marks, and never the history's own blocks
do
  local thinking = { type = "provider", provider = "anthropic", block = { type = "text", text = "kept" } }
  local req = { instructions = "Sys", tools = { { name = "t", description = "", parameters = {} } }, messages = {
    { role = "user", parts = { { type = "text", text = "q" } } },
    { role = "assistant", parts = { thinking } } } }
  local on = anthropic.encode(req, { name = "claude-haiku-4-5" }, {})
  local off = anthropic.encode(setmetatable({ settings = { cache = false } }, { __index = req }),
    { name = "claude-haiku-4-5" }, {})
  T.eq(json.encode(on.messages[2].content[1].cache_control), '{"type":"ephemeral"}', "the last block is marked")
  T.eq(thinking.block.cache_control, nil, "the history's block is untouched")
  T.eq(on.tools[1].cache_control.type, "ephemeral", "the last tool is marked")
  T.eq(on.system[1].text, "Sys", "system as a block")
  local function strip(v)
    if type(v) ~= "table" then return v end
    local c = {}
    for k, x in pairs(v) do if k ~= "cache_control" then c[k] = strip(x) end end
    return setmetatable(c, getmetatable(v))
  end
  on.system = on.system[1].text
  T.eq(json.encode(strip(on), "s"), json.encode(off, "s"), "the same request without marks")
end

-- A tool result with an image (an MCP tool's): Anthropic puts it in the
-- result, OpenAI (text-only tool messages) in a user message after them
do
  local req = { instructions = "", tools = {}, messages = {
    { role = "user", parts = { { type = "text", text = "q" } } },
    { role = "assistant", parts = { { type = "tool_call", id = "c1", name = "dot", args = {} },
      { type = "tool_call", id = "c2", name = "plain", args = {} } } },
    { role = "tool", parts = {
      { type = "tool_result", id = "c1", name = "dot", content = "a dot", is_error = false,
        attachments = { { type = "attachment", media_type = "image/png", data = "iVBOR" } } },
      { type = "tool_result", id = "c2", name = "plain", content = "text only", is_error = true } } } } }
  local function wire_json(body) return json.decode(json.encode(body)) end
  local a = wire_json(anthropic.encode(req, { name = "claude-haiku-4-5" }, {}))
  local results = a.messages[3].content
  T.eq(json.encode(results[1].content, "s"), '[{"text":"a dot","type":"text"},{"source":{"data":"iVBOR",'
    .. '"media_type":"image/png","type":"base64"},"type":"image"}]', "anthropic: text and image in the result")
  T.eq(results[2].content, "text only", "anthropic: a plain result stays text")
  T.eq(results[2].is_error, true, "anthropic: is_error")
  local o = wire_json(openai.encode(req, { name = "gpt-4o", provider = "openai" }, {}))
  local m = o.messages
  T.eq(#m, 5, "openai: user, assistant, two tool messages, one user message")
  T.eq(m[3].role .. " " .. m[3].content .. " / " .. m[4].role .. " " .. m[4].content, "tool a dot / tool text only",
    "openai: the results' text")
  T.eq(json.encode(m[5], "s"), '{"content":[{"text":"Attachments of tool call c1 (dot):","type":"text"},'
    .. '{"image_url":{"url":"data:image/png;base64,iVBOR"},"type":"image_url"}],"role":"user"}',
    "openai: the image follows the results")
end

-- Accumulation is linear: 5 MiB of 16-byte deltas (half thinking, half
-- text) costs about 5 times 1 MiB; quadratic joining would cost 25 times.
local function feed(total)
  local st = anthropic.stream()
  local function ev(name, t) return { event = name, data = json.encode(t) } end
  local piece = string.rep("x", 16)
  local n = total // 16 // 2
  local events = {
    ev("content_block_start", { type = "content_block_start", index = 0, content_block = { type = "thinking",
      thinking = "" } }),
    ev("content_block_delta", { type = "content_block_delta", index = 0, delta = { type = "thinking_delta",
      thinking = piece } }),
    ev("content_block_start", { type = "content_block_start", index = 1, content_block = { type = "text",
      text = "" } }),
    ev("content_block_delta", { type = "content_block_delta", index = 1, delta = { type = "text_delta",
      text = piece } }),
  }
  return function(limit)
    collectgarbage()
    local t0 = os.clock()
    for b = 0, 1 do
      st.event(st, events[2 * b + 1])
      local delta = events[2 * b + 2]
      for i = 1, n do
        st.event(st, delta)
        if limit and i % 4096 == 0 and os.clock() - t0 > limit then return nil end -- clearly not linear
      end
      st.event(st, ev("content_block_stop", { type = "content_block_stop", index = b }))
    end
    local r = st.finish()
    T.eq(#r.text, n * 16, "all the text")
    T.eq(#r.parts[1].block.thinking, n * 16, "all the thinking")
    return os.clock() - t0
  end
end
do -- CPU time, not wall time; one more try when a busy machine skews the first
  local MiB, small, big = 1024 * 1024, nil, nil
  for _ = 1, 2 do
    small = feed(MiB)()
    big = feed(5 * MiB)(small * 8)
    if big and big < small * 8 then break end
  end
  T.ok(big and big < small * 8, string.format("5 MiB took %s s, 1 MiB %.3f s: not linear", tostring(big), small))
end

return T.done("providers")
