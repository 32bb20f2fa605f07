-- OpenAI Chat Completions and compatible servers (Ollama, vLLM, llama.cpp,
-- OpenRouter, ...): canonical messages <-> wire JSON, the stream
-- accumulator, and the quirks of protocols.md §3.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local util = require "llmdo.util"
local wire = require "llmdo.providers.wire"

local O = {}

local function user_content(parts)
  if #parts == 1 and parts[1].type == "text" then return parts[1].text end
  local out = {}
  for _, p in ipairs(parts) do
    if p.type == "text" then
      out[#out + 1] = { type = "text", text = p.text }
    elseif p.type == "attachment" then
      local url = "data:" .. p.media_type .. ";base64," .. wire.read_base64(p.path)
      if p.media_type == "application/pdf" then
        out[#out + 1] = { type = "file", file = { filename = util.basename(p.path), file_data = url } }
      else
        out[#out + 1] = { type = "image_url", image_url = { url = url } }
      end
    end
  end
  return out
end

-- The request body for a canonical request.
function O.encode(req, spec, opts)
  local messages = {}
  if req.instructions and req.instructions ~= "" then
    messages[1] = { role = "system", content = req.instructions }
  end
  for _, m in ipairs(req.messages) do
    if m.role == "user" then
      messages[#messages + 1] = { role = "user", content = user_content(m.parts) }
    elseif m.role == "assistant" then
      local texts, calls = {}, {}
      for _, p in ipairs(m.parts) do
        if p.type == "text" then
          texts[#texts + 1] = p.text
        elseif p.type == "tool_call" then
          calls[#calls + 1] = { id = p.id, type = "function",
            ["function"] = { name = p.name, arguments = json.encode(setmetatable(
              util.shallow_copy(p.args or {}), { __jsontype = "object" }), "s") } }
        end
      end
      local msg = { role = "assistant" }
      if #texts > 0 then msg.content = table.concat(texts) end
      if #calls > 0 then msg.tool_calls = calls end
      messages[#messages + 1] = msg
    elseif m.role == "tool" then
      for _, p in ipairs(m.parts) do
        if p.type == "tool_result" then
          messages[#messages + 1] = { role = "tool", tool_call_id = p.id, content = p.content }
        end
      end
    end
  end
  local body = { model = spec.name, messages = messages }
  if #req.tools > 0 then
    local tools = {}
    for i, t in ipairs(req.tools) do
      tools[i] = { type = "function",
        ["function"] = { name = t.name, description = t.description, parameters = t.parameters } }
    end
    body.tools = tools
  end
  if opts.stream then
    body.stream = true
    body.stream_options = { include_usage = true }
  end
  return body
end

local stop_reasons = { stop = "end", tool_calls = "tool_calls", length = "max_tokens", function_call = "tool_calls" }

-- Arguments arrive as a JSON string (the spec), an object (llama.cpp and
-- proxies), null, missing or "" (protocols.md §3): all become a table.
local function parse_args(raw, name)
  if type(raw) == "table" then return raw end
  if raw == nil or raw == json.null or raw == "" then return {} end
  local ok, v = pcall(json.decode, tostring(raw))
  if not ok or type(v) ~= "table" then
    error(E.new("model", "arguments of tool call '" .. tostring(name) .. "' are not a JSON object: "
      .. wire.excerpt(raw)), 0)
  end
  return v
end

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  return { input_tokens = tonumber(u.prompt_tokens) or 0, output_tokens = tonumber(u.completion_tokens) or 0 }
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

local function canonical(text, calls, usage, finish)
  fix_ids(calls)
  local parts = {}
  if text and text ~= "" then parts[1] = { type = "text", text = text } else text = nil end
  for _, c in ipairs(calls) do parts[#parts + 1] = c end
  return {
    text = text,
    tool_calls = calls,
    parts = parts,
    usage = usage or { input_tokens = 0, output_tokens = 0 },
    stop_reason = #calls > 0 and "tool_calls" or (stop_reasons[finish] or finish), -- don't trust finish_reason
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
    calls[#calls + 1] = { type = "tool_call", id = tc.id, name = fn.name, args = parse_args(fn.arguments, fn.name) }
  end
  local text = type(msg.content) == "string" and msg.content or nil
  return canonical(text, calls, usage_of(body.usage), choice.finish_reason)
end

-- Error bodies: nested {error={message=}} (OpenAI, Groq, Ollama, llama.cpp,
-- OpenRouter), {error="..."} or flat {message=} (old vLLM).
O.error_message = wire.error_message

-- Streaming: chunks keyed by tool-call index; usage wherever it shows up;
-- an "error" key in any chunk fails the call.
function O.stream()
  local st = { text = {}, calls = {}, order = {} }
  function st.event(_, ev, on_delta)
    if ev.data == "[DONE]" then return end
    local ok, d = pcall(json.decode, ev.data)
    if not ok or type(d) ~= "table" then return end
    if d.error ~= nil or ev.event == "error" then
      local e = d.error
      local msg = type(e) == "table" and e.message or (type(e) == "string" and e) or ev.data
      error(E.new("model", tostring(msg), { in_stream = true }), 0)
    end
    if type(d.usage) == "table" then st.usage = usage_of(d.usage) end
    for _, choice in ipairs(type(d.choices) == "table" and d.choices or {}) do
      local delta = type(choice.delta) == "table" and choice.delta or {}
      if type(delta.content) == "string" and delta.content ~= "" then
        st.text[#st.text + 1] = delta.content
        if on_delta then on_delta(delta.content) end
      end
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
      if choice.finish_reason and choice.finish_reason ~= json.null then st.reason = choice.finish_reason end
    end
  end
  function st.finish()
    local calls = {}
    table.sort(st.order)
    for _, key in ipairs(st.order) do
      local acc = st.calls[key]
      calls[#calls + 1] = { type = "tool_call", id = acc.id, name = acc.name,
        args = parse_args(table.concat(acc.args), acc.name) }
    end
    return canonical(table.concat(st.text), calls, st.usage, st.reason)
  end
  return st
end

return O
