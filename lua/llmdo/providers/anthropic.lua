-- The Anthropic Messages API: canonical messages <-> wire JSON, and the
-- stream accumulator (protocols.md §1).
local json = require "llmdo.core.json"
local util = require "llmdo.util"
local wire = require "llmdo.providers.wire"

local A = {}

-- Output limits from Anthropic's models overview, first match wins; a
-- model not listed gets 8192, which every current model accepts. A newer
-- model of a family gets at least its family's limit.
local output_limits = {
  { "^claude%-opus%-4%-5", 64000 }, { "^claude%-opus%-4", 32000 },
  { "^claude%-sonnet%-4", 64000 }, { "^claude%-haiku%-4", 64000 },
  { "^claude%-3%-7%-sonnet", 64000 }, { "^claude%-3%-5%-", 8192 }, { "^claude%-3%-", 4096 },
}
A.fallback_max_tokens = 8192

-- The max_tokens sent when the worker does not set one.
function A.default_max_tokens(model)
  for _, l in ipairs(output_limits) do
    if model:match(l[1]) then return l[2] end
  end
  return A.fallback_max_tokens
end

-- The settings this API takes (the linker refuses the others).
A.supported_settings = { max_tokens = true, temperature = true, top_p = true, stop = true,
  parallel_tool_calls = true, thinking = true, cache = true }

-- The end of a complete stream, named in "stream ended early" errors.
A.stream_terminal = "message_stop"

-- Server tools: worker server_side_tools entries -> tool definitions.
local server_tools = {
  web_search = function(t)
    return { type = "web_search_20250305", name = "web_search", max_uses = t.max_uses,
      allowed_domains = t.allowed_domains, blocked_domains = t.blocked_domains }
  end,
  web_fetch = function(t)
    return { type = "web_fetch_20250910", name = "web_fetch", max_uses = t.max_uses,
      allowed_domains = t.allowed_domains, blocked_domains = t.blocked_domains }
  end,
  code_execution = function() return { type = "code_execution_20250825", name = "code_execution" } end,
}
A.server_tools = server_tools

local function attachment_block(p)
  local source = { type = "base64", media_type = p.media_type, data = wire.base64_of(p) }
  if p.media_type == "application/pdf" then return { type = "document", source = source } end
  return { type = "image", source = source }
end

local function part_block(p)
  if p.type == "text" then
    if not p.text:match("%S") then return nil end -- the API refuses empty and whitespace-only text blocks
    return { type = "text", text = p.text }
  end
  if p.type == "attachment" then return attachment_block(p) end
  if p.type == "tool_call" then
    return { type = "tool_use", id = p.id, name = p.name, input = wire.object(util.shallow_copy(p.args or {})) }
  end
  if p.type == "tool_result" then
    local content = p.content
    if p.attachments and #p.attachments > 0 then -- text and images, in one result
      content = content ~= "" and { { type = "text", text = content } } or {}
      for _, a in ipairs(p.attachments) do content[#content + 1] = attachment_block(a) end
    end
    return { type = "tool_result", tool_use_id = p.id, content = content, is_error = p.is_error or false }
  end
  if p.type == "provider" and p.provider == "anthropic" then return p.block end
  return nil -- another provider's block: nothing to send
end

-- Prompt caching: a breakpoint after the system prompt, the tool
-- definitions and the conversation so far, so the next turn reads all
-- three from the cache (at most 4 breakpoints are allowed).
local EPHEMERAL = { type = "ephemeral" }
local cacheable = { text = true, image = true, document = true, tool_use = true, tool_result = true }

local function mark_last_message(messages)
  local last = messages[#messages]
  if not last then return end
  for i = #last.content, 1, -1 do
    local b = last.content[i]
    if cacheable[b.type] then
      b = util.shallow_copy(b) -- a provider block is the history's own table
      b.cache_control = EPHEMERAL
      last.content[i] = b
      return
    end
  end
end

-- A part's wire block as JSON, made once (wire.encode_cache).
local encoded_block = wire.encode_cache(part_block)

local function wire_role(m) return m.role == "assistant" and "assistant" or "user" end -- tool results: a user turn

-- A canonical message alone on the wire, as JSON made once.
local encoded_message = wire.encode_cache(function(m)
  local blocks = {}
  for _, p in ipairs(m.parts) do blocks[#blocks + 1] = part_block(p) end
  return { role = wire_role(m), content = blocks }
end)

-- Does the message put anything on the wire?
local function sends(m)
  for _, p in ipairs(m.parts) do
    if encoded_block(p) then return true end
  end
  return false
end

-- The API wants alternating turns, so a run of messages with the same wire
-- role (messages that send nothing aside) becomes one wire message. The
-- canonical messages of the run that starts at i, or nil if none starts
-- there; and the index where it ends.
local function run_at(msgs, i, last)
  if not sends(msgs[i]) then return nil end
  local role = wire_role(msgs[i])
  for k = i - 1, 1, -1 do -- a run starts after a message of the other role
    if sends(msgs[k]) then
      if wire_role(msgs[k]) == role then return nil end
      break
    end
  end
  local run, j = { msgs[i] }, i
  for k = i + 1, last do
    if sends(msgs[k]) then
      if wire_role(msgs[k]) ~= role then break end
      run[#run + 1], j = msgs[k], k
    end
  end
  return run, j
end

-- The wire message of a run: a lone message as JSON made when it was first
-- sent; a merged run block by block, with `block` (cached or fresh).
local function run_message(run, block)
  if #run == 1 and block == encoded_block then return encoded_message(run[1]) end
  local blocks = {}
  for _, m in ipairs(run) do
    for _, p in ipairs(m.parts) do blocks[#blocks + 1] = block(p) end
  end
  return { role = wire_role(run[1]), content = blocks }
end

-- The wire messages: every run before the latest is spliced in as one
-- piece of JSON grown turn by turn (wire.prefix); the latest run is built
-- afresh, for the cache breakpoint.
local function wire_messages(msgs)
  local n = #msgs
  local s = n -- where the latest run starts
  while s >= 1 and not sends(msgs[s]) do s = s - 1 end
  for k = s - 1, 1, -1 do
    if sends(msgs[k]) then
      if wire_role(msgs[k]) ~= wire_role(msgs[s]) then break end
      s = k
    end
  end
  local messages = {}
  for i, chunk in ipairs(wire.prefix(msgs, s - 1, function(i)
    local run = run_at(msgs, i, s - 1)
    return run and json.encode(run_message(run, encoded_block), "s") or nil
  end)) do
    messages[i] = chunk
  end
  if s >= 1 then messages[#messages + 1] = run_message((run_at(msgs, s, n)), part_block) end
  return messages
end

-- The request body for a canonical request.
function A.encode(req, spec, opts)
  local settings = req.settings or {}
  local cache = settings.cache ~= false
  local messages = wire_messages(req.messages)
  if cache then mark_last_message(messages) end
  local body = {
    model = spec.name,
    max_tokens = settings.max_tokens or A.default_max_tokens(spec.name),
    messages = messages,
    temperature = settings.temperature,
    top_p = settings.top_p,
    stop_sequences = settings.stop,
  }
  if settings.thinking then
    body.thinking = { type = "enabled", budget_tokens = settings.thinking.budget_tokens }
  end
  if req.instructions and req.instructions ~= "" then
    body.system = cache and { { type = "text", text = req.instructions, cache_control = EPHEMERAL } }
      or req.instructions
  end
  local tools = {}
  for _, t in ipairs(req.tools) do
    tools[#tools + 1] = { name = t.name, description = t.description, input_schema = t.parameters }
  end
  for _, st in ipairs(req.server_tools or {}) do tools[#tools + 1] = server_tools[st.tool_type](st) end
  if #tools > 0 then
    body.tools = tools
    if cache then tools[#tools].cache_control = EPHEMERAL end
    if settings.parallel_tool_calls == false then
      body.tool_choice = { type = "auto", disable_parallel_tool_use = true }
    end
  end
  if opts.stream then body.stream = true end
  return body
end

-- The API's stop reasons -> the canonical ones (docs/providers.md).
local stop_reasons = { end_turn = "end_turn", tool_use = "tool_use", max_tokens = "max_tokens",
  stop_sequence = "stop_sequence", pause_turn = "pause_turn", refusal = "refusal",
  model_context_window_exceeded = "context_window" }

-- Response content blocks -> the canonical response. Text blocks are
-- joined by a blank line, except the pieces of a cited passage (the API
-- splits one paragraph into blocks at each citation).
local function from_blocks(blocks, u, raw_stop)
  local parts, texts, calls = {}, {}, {}
  local cited_before = false
  for _, b in ipairs(blocks) do
    if b.type == "text" then
      if type(b.text) == "string" and b.text:match("%S") then
        local cited = type(b.citations) == "table" and #b.citations > 0
        if #texts > 0 then texts[#texts + 1] = (cited or cited_before) and "" or "\n\n" end
        texts[#texts + 1] = b.text
        cited_before = cited
        parts[#parts + 1] = { type = "text", text = b.text }
      end
    elseif b.type == "tool_use" then
      local call = { type = "tool_call", id = b.id, name = b.name, args = type(b.input) == "table" and b.input
        or wire.object(), args_error = b.args_error }
      calls[#calls + 1] = call
      parts[#parts + 1] = call
    else -- server tool use and results, thinking: kept verbatim for the next request
      b.args_error = nil
      parts[#parts + 1] = { type = "provider", provider = "anthropic", block = b }
    end
  end
  u = type(u) == "table" and u or {}
  local read, write = tonumber(u.cache_read_input_tokens) or 0, tonumber(u.cache_creation_input_tokens) or 0
  local stop = stop_reasons[raw_stop]
  if not stop then stop = #calls > 0 and "tool_use" or "end_turn" end -- a reason this version does not know
  return {
    text = #texts > 0 and table.concat(texts) or nil,
    tool_calls = calls,
    parts = parts,
    -- input_tokens counts every prompt token, cached ones included (as OpenAI's prompt_tokens)
    usage = wire.usage((tonumber(u.input_tokens) or 0) + read + write, u.output_tokens, read, write),
    stop_reason = stop,
    stop_detail = type(raw_stop) == "string" and raw_stop or nil,
  }
end

function A.decode(body)
  if type(body) ~= "table" or type(body.content) ~= "table" then
    return nil, "the response has no content"
  end
  return from_blocks(body.content, body.usage, body.stop_reason)
end

A.error_message = wire.error_message

local tool_blocks = { tool_use = true, server_tool_use = true, mcp_tool_use = true }

-- Streaming: feed events with :event(ev, on_delta); :finish() gives the
-- canonical response, and st.ended says whether message_stop arrived.
-- Raises (kind "model", in_stream) on an in-band error event. Deltas are
-- collected in lists and joined once, when their block stops.
function A.stream()
  local st = { blocks = {}, acc = {}, usage = {}, ended = false }

  -- Joins a block's pieces; a tool block's input is parsed here.
  local function close(i, stopped)
    local b, acc = st.blocks[i], st.acc[i]
    if not acc then return end
    st.acc[i] = nil
    for _, field in ipairs { "text", "thinking", "signature" } do
      if acc[field] then b[field] = table.concat(acc[field]) end
    end
    if tool_blocks[b.type] then
      if not stopped then
        b.input, b.args_error = wire.object(), "the tool call '" .. tostring(b.name) .. "' was cut off: the stream "
          .. "ended before its arguments were complete (no content_block_stop)"
      elseif acc.json then
        b.input, b.args_error = wire.tool_args(table.concat(acc.json))
      else
        b.input = wire.object(type(b.input) == "table" and b.input or {})
      end
    end
  end

  local function add(acc, field, piece)
    if type(piece) ~= "string" then return end
    local list = acc[field]
    if not list then
      list = {}
      acc[field] = list
    end
    list[#list + 1] = piece
  end

  function st.event(_, ev, on_delta)
    local ok, d = pcall(json.decode, ev.data)
    if not ok or type(d) ~= "table" then return end
    local t = d.type or ev.event
    if t == "error" or ev.event == "error" then
      wire.stream_error(d, ev.data)
    elseif t == "message_start" and type(d.message) == "table" then
      local u = d.message.usage
      if type(u) == "table" then for k, v in pairs(u) do st.usage[k] = v end end
    elseif t == "content_block_start" and type(d.content_block) == "table" and math.tointeger(d.index) then
      local i, b = d.index + 1, d.content_block
      st.blocks[i] = b
      local acc = {}
      st.acc[i] = acc
      add(acc, "text", b.text)
      add(acc, "thinking", b.thinking)
      add(acc, "signature", b.signature)
    elseif t == "content_block_delta" and type(d.delta) == "table" and math.tointeger(d.index) then
      local i, delta = d.index + 1, d.delta
      local b, acc = st.blocks[i], st.acc[i]
      if not acc then return end
      if delta.type == "text_delta" then
        add(acc, "text", delta.text)
        if on_delta and type(delta.text) == "string" then on_delta(delta.text) end
      elseif delta.type == "input_json_delta" then
        add(acc, "json", delta.partial_json)
      elseif delta.type == "thinking_delta" then
        add(acc, "thinking", delta.thinking)
      elseif delta.type == "signature_delta" then
        add(acc, "signature", delta.signature)
      elseif delta.type == "citations_delta" then
        b.citations = b.citations or json.array()
        b.citations[#b.citations + 1] = delta.citation
      end
    elseif t == "content_block_stop" and math.tointeger(d.index) then
      close(d.index + 1, true)
    elseif t == "message_delta" then
      if type(d.delta) == "table" and d.delta.stop_reason then st.stop_reason = d.delta.stop_reason end
      if type(d.usage) == "table" then -- cumulative
        for k, v in pairs(d.usage) do
          if v ~= json.null then st.usage[k] = v end
        end
      end
    elseif t == "message_stop" then
      st.ended = true
    end
  end

  function st.finish()
    for i in pairs(st.acc) do close(i, false) end
    return from_blocks(wire.dense(st.blocks), st.usage, st.stop_reason)
  end
  return st
end

return A
