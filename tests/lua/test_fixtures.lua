-- Replays every recorded exchange in ../shared/fixtures: the recorded
-- response, fed back, gives the right canonical result; llmdo's own request
-- for the same conversation carries the same content as the recorded one.
-- Usage: llmdo lua test_fixtures.lua FIXTURES_DIR
local json = require "llmdo.core.json"
local http = require "llmdo.core.http"
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local decode_marked = dofile(here .. "/jsondec.lua")
local anthropic = require "llmdo.providers.anthropic"
local openai = require "llmdo.providers.openai"
local dir = assert(arg[1], "usage: test_fixtures.lua FIXTURES_DIR")
local NO_CACHE = { cache = false } -- the recordings were made without prompt caching

local function read(name)
  local f = assert(io.open(dir .. "/" .. name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Compares two JSON texts structurally ([] and {} kept apart).
local function same_json(a, b)
  local function norm(v)
    return json.encode(v, "s")
  end
  return norm(decode_marked(a)) == norm(decode_marked(b))
end

local function eq_json(got_text, want_text, what)
  T.count = T.count + 1
  if not same_json(got_text, want_text) then
    error(what .. ":\n  got  " .. json.encode(decode_marked(got_text), "s")
      .. "\n  want " .. json.encode(decode_marked(want_text), "s"), 2)
  end
end

-- Feeds an SSE recording through the C framer (in awkward chunk sizes) and a provider stream.
local function replay_stream(p, text, chunk)
  local st = p.stream()
  local deltas = {}
  for _, ev in ipairs(http.sse_parse(text, chunk)) do
    st.event(st, ev, function(d) deltas[#deltas + 1] = d end)
  end
  return st.finish(), table.concat(deltas)
end

local function calls_of(resp)
  local out = {}
  for i, c in ipairs(resp.tool_calls) do out[i] = c.name .. json.encode(c.args, "s") end
  return table.concat(out, " ")
end

-- 01: Anthropic stream, two parallel tool_use blocks with empty input
for _, chunk in ipairs { 1, 7, 4096 } do
  local r = replay_stream(anthropic, read("01_anthropic_stream_parallel_tool_use.response.sse"), chunk)
  T.eq(calls_of(r), "pelican_name_generator{} pelican_name_generator{}", "01 tool calls")
  T.eq(r.tool_calls[1].id, "toolu_01LtHJmixrs9NcWQkK8hu8hj", "01 first id")
  T.eq(r.text, nil, "01 no text")
  T.eq(r.stop_reason, "tool_use", "01 stop reason")
  T.eq(r.usage.input_tokens, 542, "01 input tokens")
  T.eq(r.usage.output_tokens, 62, "01 output tokens")
end
do
  local body = anthropic.encode({
    instructions = "", settings = NO_CACHE,
    messages = { { role = "user", parts = { { type = "text", text = "Two names for a pet pelican" } } } },
    tools = { { name = "pelican_name_generator", description = "",
      parameters = json.decode('{"properties":{},"type":"object"}') } },
  }, { name = "claude-haiku-4-5-20251001" }, { stream = true })
  local rec = json.decode(read("01_anthropic_stream_parallel_tool_use.request.json"))
  eq_json(json.encode(body.messages), json.encode(rec.messages), "01 request messages")
  eq_json(json.encode(body.tools), json.encode(rec.tools), "01 request tools")
  T.eq(body.model, rec.model, "01 model")
  T.eq(body.stream, true, "01 stream")
end

-- 02 and 03: Anthropic, text + four parallel tool_use, then the follow-up
local SYSTEM = json.decode(read("02_anthropic_nonstream_parallel_tool_use.request.json")).system
local ENTITY_TOOL = { name = "retrieve_entity_info", description = "Get the knowledge about the given entity.",
  parameters = json.decode('{"additionalProperties":false,"properties":{"name":{"type":"string"}},'
    .. '"required":["name"],"type":"object"}') }
local QUESTION = { role = "user", parts = { { type = "text",
  text = "Alice, Bob, Charlie and Daisy are a family. Who is the youngest?" } } }
local r02 = anthropic.decode(json.decode(read("02_anthropic_nonstream_parallel_tool_use.response.json")))
T.eq(r02.text, "I'll help you find out who is the youngest by retrieving information about each family member. "
  .. "I'll retrieve their entity information to compare their ages.", "02 text")
T.eq(calls_of(r02), 'retrieve_entity_info{"name":"Alice"} retrieve_entity_info{"name":"Bob"} '
  .. 'retrieve_entity_info{"name":"Charlie"} retrieve_entity_info{"name":"Daisy"}', "02 tool calls")
T.eq(r02.stop_reason, "tool_use", "02 stop")
T.eq(r02.usage.input_tokens, 423, "02 input tokens")
T.eq(r02.usage.output_tokens, 202, "02 output tokens")
do
  local body = anthropic.encode({ instructions = SYSTEM, messages = { QUESTION }, tools = { ENTITY_TOOL },
    settings = NO_CACHE },
    { name = "claude-haiku-4-5" }, {})
  local rec = json.decode(read("02_anthropic_nonstream_parallel_tool_use.request.json"))
  T.eq(body.system, rec.system, "02 system")
  eq_json(json.encode(body.messages), json.encode(rec.messages), "02 request messages")
  eq_json(json.encode(body.tools), json.encode(rec.tools), "02 request tools")
  T.eq(body.stream, nil, "02 not streamed")
end
do -- 03: the assistant turn as llmdo records it, then the tool results
  local results = { "alice is bob's wife", "bob is alice's husband", "charlie is alice's son",
    "daisy is bob's daughter and charlie's younger sister" }
  local tool_parts = {}
  for i, c in ipairs(r02.tool_calls) do
    tool_parts[i] = { type = "tool_result", id = c.id, name = c.name, content = results[i], is_error = false }
  end
  local body = anthropic.encode({ instructions = SYSTEM, tools = { ENTITY_TOOL }, settings = NO_CACHE, messages = {
    QUESTION, { role = "assistant", parts = r02.parts }, { role = "tool", parts = tool_parts } } },
    { name = "claude-haiku-4-5" }, {})
  local rec = json.decode(read("03_anthropic_nonstream_tool_result_followup.request.json"))
  eq_json(json.encode(body.messages), json.encode(rec.messages), "03 request messages")
  local r03 = anthropic.decode(json.decode(read("03_anthropic_nonstream_tool_result_followup.response.json")))
  T.ok(r03.text:find("Daisy is the youngest in the family", 1, true), "03 text")
  T.eq(#r03.tool_calls, 0, "03 no tool calls")
  T.eq(r03.stop_reason, "end_turn", "03 stop")
  T.eq(r03.usage.input_tokens, 771, "03 input tokens")
end

-- 04: text, then a tool_use whose input arrives in fragments; no final newline
for _, chunk in ipairs { 1, 3, 100000 } do
  local r, deltas = replay_stream(anthropic, read("04_anthropic_stream_text_then_tool_use.response.sse"), chunk)
  T.eq(r.text, "I'll check the current weather in Paris for you.", "04 text")
  T.eq(deltas, r.text, "04 deltas make the text")
  T.eq(calls_of(r), 'get_weather{"location":"Paris"}', "04 tool call")
  T.eq(r.usage.input_tokens, 377, "04 input tokens")
  T.eq(r.usage.output_tokens, 65, "04 output tokens")
  T.eq(r.stop_reason, "tool_use", "04 stop")
end

-- 06 and 09: error bodies give the provider's message
T.eq(anthropic.error_message(read("06_anthropic_error_400_invalid_request.response.json")),
  "This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.", "06 message")
T.eq(openai.error_message(read("09_openai_error_400_unsupported_value.response.json")),
  "Unsupported value: 'messages[0].role' does not support 'developer' with this model.", "09 message")

-- 07: OpenAI stream, argument fragments, usage in a choices:[] chunk, [DONE]
local MULTIPLY = { name = "multiply", description = "Multiply two numbers.",
  parameters = json.decode('{"properties":{"a":{"type":"integer"},"b":{"type":"integer"}},'
    .. '"required":["a","b"],"type":"object"}') }
for _, chunk in ipairs { 1, 50, 100000 } do
  local r = replay_stream(openai, read("07_openai_stream_tool_call_with_usage.response.sse"), chunk)
  T.eq(calls_of(r), 'multiply{"a":1231,"b":2331}', "07 tool call")
  T.eq(r.tool_calls[1].id, "call_1EYWDzueHEp8OsB8jJSEp7WB", "07 id")
  T.eq(r.stop_reason, "tool_use", "07 stop")
  T.eq(r.usage.input_tokens, 54, "07 input tokens")
  T.eq(r.usage.output_tokens, 20, "07 output tokens")
end
do
  local body = openai.encode({ instructions = "", tools = { MULTIPLY },
    messages = { { role = "user", parts = { { type = "text", text = "What is 1231 * 2331?" } } } } },
    { name = "gpt-4o-mini" }, { stream = true })
  local rec = json.decode(read("07_openai_stream_tool_call_with_usage.request.json"))
  eq_json(json.encode(body.messages), json.encode(rec.messages), "07 request messages")
  eq_json(json.encode(body.tools), json.encode(rec.tools), "07 request tools")
  eq_json(json.encode(body.stream_options), json.encode(rec.stream_options), "07 stream options")
end

-- 08: OpenAI, a follow-up with assistant tool_calls and a tool message; arguments as a string
do
  local r = openai.decode(json.decode(read("08_openai_nonstream_tool_result_followup.response.json")))
  T.eq(calls_of(r), 'final_result{"city":"Mexico City","country":"Mexico"}', "08 tool call")
  T.eq(r.usage.input_tokens, 89, "08 input tokens")
  T.eq(r.usage.output_tokens, 36, "08 output tokens")
  local rec = json.decode(read("08_openai_nonstream_tool_result_followup.request.json"))
  local body = openai.encode({ instructions = "", tools = {}, messages = {
    { role = "user", parts = { { type = "text", text = "What is the largest city in the user country?" } } },
    { role = "assistant", parts = { { type = "tool_call", id = "call_iXFttys57ap0o16JSlC8yhYo",
      name = "get_user_country", args = {} } } },
    { role = "tool", parts = { { type = "tool_result", id = "call_iXFttys57ap0o16JSlC8yhYo", name = "get_user_country",
      content = "Mexico", is_error = false } } },
  } }, { name = "gpt-4o" }, {})
  eq_json(json.encode(body.messages), json.encode(rec.messages), "08 request messages")
end

-- 11: Ollama, tool call with an index field, content "" and a reasoning field
do
  local r = openai.decode(json.decode(read("11_ollama_nonstream_tool_call.response.json")))
  T.eq(calls_of(r), 'final_result{"city":"Paris","country":"France"}', "11 tool call")
  T.eq(r.tool_calls[1].id, "call_o2vnpxrw", "11 id")
  T.eq(r.text, nil, "11 empty content is no text")
  T.eq(r.usage.input_tokens, 206, "11 input tokens")
  local rec = json.decode(read("11_ollama_nonstream_tool_call.request.json"))
  local body = openai.encode({ instructions = "", tools = {}, messages = {
    { role = "user", parts = { { type = "text", text = rec.messages[1].content } } },
    { role = "assistant", parts = { { type = "text", text = "Paris." } } },
    { role = "user", parts = { { type = "text", text = rec.messages[3].content } } },
  } }, { name = "gpt-oss:20b" }, {})
  rec.messages[2].reasoning = nil -- a non-standard field llmdo does not keep
  eq_json(json.encode(body.messages), json.encode(rec.messages), "11 request messages")
end

return T.done("fixtures")
