-- OpenAI Chat Completions and compatible servers (Ollama, vLLM, llama.cpp,
-- OpenRouter, ...): canonical messages <-> wire JSON, the stream
-- accumulator, and the quirks of protocols.md §3.
local json = require "llmdo.core.json"
local util = require "llmdo.util"
local wire = require "llmdo.providers.wire"

local O = {}

-- The settings this API takes (the linker refuses the others).
O.supported_settings = { max_tokens = true, temperature = true, top_p = true, stop = true, seed = true,
  parallel_tool_calls = true, reasoning_effort = true }

-- The end of a complete stream, named in "stream ended early" errors.
O.stream_terminal = "finish_reason or [DONE]"

local function user_content(parts)
  if #parts == 1 and parts[1].type == "text" then return parts[1].text end
  local out = {}
  for _, p in ipairs(parts) do
    if p.type == "text" then
      out[#out + 1] = { type = "text", text = p.text }
    elseif p.type == "attachment" then
      local url = "data:" .. p.media_type .. ";base64," .. wire.base64_of(p)
      if p.media_type == "application/pdf" then
        out[#out + 1] = { type = "file", file = { filename = util.basename(p.path), file_data = url } }
      else
        out[#out + 1] = { type = "image_url", image_url = { url = url } }
      end
    end
  end
  return out
end

-- The wire messages of one canonical message (a tool message becomes one
-- per result).
local function wire_messages(m)
  local messages = {}
  if m.role == "user" then
    messages[1] = { role = "user", content = user_content(m.parts) }
  elseif m.role == "assistant" then
    local texts, calls = {}, {}
    for _, p in ipairs(m.parts) do
      if p.type == "text" then
        texts[#texts + 1] = p.text
      elseif p.type == "tool_call" then
        calls[#calls + 1] = { id = p.id, type = "function",
          ["function"] = { name = p.name, arguments = json.encode(wire.object(
            util.shallow_copy(p.args or {})), "s") } }
      end
    end
    local msg = { role = "assistant" }
    if #texts > 0 then msg.content = table.concat(texts) end
    if #calls > 0 then msg.tool_calls = calls end
    messages[1] = msg
  elseif m.role == "tool" then
    -- a tool message holds text only: a result's images follow the
    -- results as one user message, each introduced by its call
    local shown = {}
    for _, p in ipairs(m.parts) do
      if p.type == "tool_result" then
        messages[#messages + 1] = { role = "tool", tool_call_id = p.id, content = p.content }
        if p.attachments and #p.attachments > 0 then
          shown[#shown + 1] = { type = "text", text = "Attachments of tool call " .. p.id .. " (" .. p.name .. "):" }
          for _, a in ipairs(p.attachments) do shown[#shown + 1] = a end
        end
      end
    end
    if #shown > 0 then messages[#messages + 1] = { role = "user", content = user_content(shown) } end
  end
  return messages
end

-- Each canonical message's wire messages as JSON, made once: the history
-- is spliced in, not rebuilt, every turn (wire.encode_cache).
local encoded_messages = wire.encode_cache(wire_messages, true)

-- The request body for a canonical request.
function O.encode(req, spec, opts)
  local messages = {}
  if req.instructions and req.instructions ~= "" then
    messages[1] = { role = "system", content = req.instructions }
  end
  local msgs = req.messages
  for _, chunk in ipairs(wire.prefix(msgs, #msgs, function(i)
    local texts = {}
    for k, x in ipairs(encoded_messages(msgs[i]) or {}) do texts[k] = x[1] end
    return #texts > 0 and table.concat(texts, ",") or nil
  end)) do
    messages[#messages + 1] = chunk
  end
  local settings = req.settings or {}
  local body = { model = spec.name, messages = messages, temperature = settings.temperature, top_p = settings.top_p,
    stop = settings.stop, seed = settings.seed, reasoning_effort = settings.reasoning_effort }
  -- OpenAI itself wants max_completion_tokens (its reasoning models refuse
  -- max_tokens); compatible servers mostly know only max_tokens.
  body[spec.provider == "openai" and "max_completion_tokens" or "max_tokens"] = settings.max_tokens
  if #req.tools > 0 then
    local tools = {}
    for i, t in ipairs(req.tools) do
      tools[i] = { type = "function",
        ["function"] = { name = t.name, description = t.description, parameters = t.parameters } }
    end
    body.tools = tools
    body.parallel_tool_calls = settings.parallel_tool_calls
  end
  if opts.stream then
    body.stream = true
    body.stream_options = { include_usage = true }
  end
  return body
end

-- finish_reason -> the canonical stop reason (docs/providers.md).
local stop_reasons = { stop = "end_turn", tool_calls = "tool_use", function_call = "tool_use", length = "max_tokens",
  content_filter = "content_filter" }

-- Arguments arrive as a JSON string (the spec), an object (llama.cpp and
-- proxies), null, missing or "" (protocols.md §3): all become a table,
-- with args_error when the text is not a JSON object.
local function parse_args(raw)
  if type(raw) == "table" then return raw end
  if raw == nil or raw == json.null then return wire.object() end
  return wire.tool_args(tostring(raw))
end

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  local details = type(u.prompt_tokens_details) == "table" and u.prompt_tokens_details or {}
  return wire.usage(u.prompt_tokens, u.completion_tokens, details.cached_tokens, 0)
end

-- Tool call ids may be missing, empty or repeated: make them unique.
local function fix_ids(calls)
  local seen = {}
  for i, c in ipairs(calls) do
    if type(c.id) ~= "string" or c.id == "" or seen[c.id] then
      c.id = string.format("call_%d_%06x", i, math.random(0, 0xffffff))
    end
    seen[c.id] = true
  end
end

local function call_of(id, name, raw)
  local args, err = parse_args(raw)
  return { type = "tool_call", id = id, name = name, args = args, args_error = err }
end

-- Servers that say "stop" with tool calls are not trusted (protocols.md
-- §3): calls make a tool turn unless the answer was cut or filtered.
local function canonical(text, calls, usage, finish, refusal)
  fix_ids(calls)
  local parts = {}
  if text and text ~= "" then parts[1] = { type = "text", text = text } else text = nil end
  for _, c in ipairs(calls) do parts[#parts + 1] = c end
  if refusal == "" then refusal = nil end
  local raw = type(finish) == "string" and finish or nil
  local stop = stop_reasons[raw]
  if refusal then
    stop = "refusal"
  elseif #calls > 0 and stop ~= "max_tokens" and stop ~= "content_filter" then
    stop = "tool_use"
  elseif not stop or stop == "tool_use" then
    stop = #calls > 0 and "tool_use" or "end_turn"
  end
  return {
    text = text,
    tool_calls = calls,
    parts = parts,
    usage = usage or wire.usage(),
    stop_reason = stop,
    stop_detail = raw,
    refusal = refusal,
  }
end

function O.decode(body)
  if type(body) ~= "table" or type(body.choices) ~= "table" or type(body.choices[1]) ~= "table" then
    return nil, "the response has no choices"
  end
  local choice = body.choices[1]
  local msg = type(choice.message) == "table" and choice.message or {}
  local calls = {}
  for _, tc in ipairs(type(msg.tool_calls) == "table" and msg.tool_calls or {}) do
    local fn = type(tc["function"]) == "table" and tc["function"] or {}
    calls[#calls + 1] = call_of(tc.id, fn.name, fn.arguments)
  end
  local text = type(msg.content) == "string" and msg.content or nil
  local refusal = type(msg.refusal) == "string" and msg.refusal or nil
  return canonical(text, calls, usage_of(body.usage), choice.finish_reason, refusal)
end

-- Error bodies: nested {error={message=}} (OpenAI, Groq, Ollama, llama.cpp,
-- OpenRouter), {error="..."} or flat {message=} (old vLLM).
O.error_message = wire.error_message

-- Streaming: chunks keyed by tool-call index; usage wherever it shows up;
-- an "error" key in any chunk fails the call. st.ended: a finish_reason or
-- [DONE] arrived (servers that send only one of them exist, protocols.md §3).
function O.stream()
  local st = { text = {}, refusal = {}, calls = {}, order = {}, ended = false }
  function st.event(_, ev, on_delta)
    if ev.data == "[DONE]" then
      st.ended = true
      return
    end
    local ok, d = pcall(json.decode, ev.data)
    if not ok or type(d) ~= "table" then return end
    if (d.error ~= nil and d.error ~= json.null) or ev.event == "error" then wire.stream_error(d, ev.data) end
    if type(d.usage) == "table" then st.usage = usage_of(d.usage) end
    for _, choice in ipairs(type(d.choices) == "table" and d.choices or {}) do
      local delta = type(choice.delta) == "table" and choice.delta or {}
      if type(delta.content) == "string" and delta.content ~= "" then
        st.text[#st.text + 1] = delta.content
        if on_delta then on_delta(delta.content) end
      end
      if type(delta.refusal) == "string" then st.refusal[#st.refusal + 1] = delta.refusal end
      for pos, tc in ipairs(type(delta.tool_calls) == "table" and delta.tool_calls or {}) do
        local key = math.tointeger(tc.index) or pos - 1
        local acc = st.calls[key]
        if not acc then
          acc = { args = {} }
          st.calls[key] = acc
          st.order[#st.order + 1] = key
        end
        if type(tc.id) == "string" and tc.id ~= "" and not acc.id then acc.id = tc.id end
        local fn = type(tc["function"]) == "table" and tc["function"] or {}
        if type(fn.name) == "string" and fn.name ~= "" then acc.name = fn.name end
        local a = fn.arguments
        if type(a) == "table" then
          acc.args = { json.encode(a) }
        elseif type(a) == "string" then
          acc.args[#acc.args + 1] = a
        end
      end
      if type(choice.finish_reason) == "string" then
        st.reason = choice.finish_reason
        st.ended = true
      end
    end
  end
  function st.finish()
    local calls = {}
    table.sort(st.order)
    for _, key in ipairs(st.order) do
      local acc = st.calls[key]
      calls[#calls + 1] = call_of(acc.id, acc.name, table.concat(acc.args))
    end
    return canonical(table.concat(st.text), calls, st.usage, st.reason, table.concat(st.refusal))
  end
  return st
end

return O
