-- The Anthropic Messages API: canonical messages <-> wire JSON, and the
-- stream accumulator (protocols.md §1).
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local util = require "llmdo.util"
local wire = require "llmdo.providers.wire"

local A = {}

A.default_max_tokens = 4096

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

local function part_block(p)
  if p.type == "text" then
    if p.text == "" then return nil end -- the API refuses empty text blocks
    return { type = "text", text = p.text }
  end
  if p.type == "attachment" then
    local data = wire.read_base64(p.path)
    local source = { type = "base64", media_type = p.media_type, data = data }
    if p.media_type == "application/pdf" then return { type = "document", source = source } end
    return { type = "image", source = source }
  end
  if p.type == "tool_call" then
    return { type = "tool_use", id = p.id, name = p.name, input = setmetatable(util.shallow_copy(p.args or {}),
      { __jsontype = "object" }) }
  end
  if p.type == "tool_result" then
    return { type = "tool_result", tool_use_id = p.id, content = p.content, is_error = p.is_error or false }
  end
  if p.type == "provider" and p.provider == "anthropic" then return p.block end
  return nil -- another provider's block: nothing to send
end

-- The request body for a canonical request.
function A.encode(req, spec, opts)
  local messages = {}
  for _, m in ipairs(req.messages) do
    local role = m.role == "assistant" and "assistant" or "user" -- tool results travel as a user turn
    local blocks = {}
    for _, p in ipairs(m.parts) do
      local b = part_block(p)
      if b then blocks[#blocks + 1] = b end
    end
    local last = messages[#messages]
    if last and last.role == role then -- the API wants alternating turns: merge
      for _, b in ipairs(blocks) do last.content[#last.content + 1] = b end
    elseif #blocks > 0 then
      messages[#messages + 1] = { role = role, content = blocks }
    end
  end
  local body = {
    model = spec.name,
    max_tokens = opts.max_tokens or A.default_max_tokens,
    messages = messages,
  }
  if req.instructions and req.instructions ~= "" then body.system = req.instructions end
  local tools = {}
  for _, t in ipairs(req.tools) do
    tools[#tools + 1] = { name = t.name, description = t.description, input_schema = t.parameters }
  end
  for _, st in ipairs(req.server_tools or {}) do tools[#tools + 1] = server_tools[st.tool_type](st) end
  if #tools > 0 then body.tools = tools end
  if opts.stream then body.stream = true end
  return body
end

local stop_reasons = { end_turn = "end", tool_use = "tool_calls", max_tokens = "max_tokens", stop_sequence = "end" }

-- Response content blocks -> the canonical response.
local function from_blocks(blocks, usage, stop_reason)
  local parts, texts, calls = {}, {}, {}
  for _, b in ipairs(blocks) do
    if b.type == "text" then
      if b.text ~= "" then
        texts[#texts + 1] = b.text
        parts[#parts + 1] = { type = "text", text = b.text }
      end
    elseif b.type == "tool_use" then
      local call = { type = "tool_call", id = b.id, name = b.name, args = type(b.input) == "table" and b.input or {} }
      calls[#calls + 1] = call
      parts[#parts + 1] = call
    else -- server tool use and results, thinking: kept verbatim for the next request
      parts[#parts + 1] = { type = "provider", provider = "anthropic", block = b }
    end
  end
  return {
    text = #texts > 0 and table.concat(texts) or nil,
    tool_calls = calls,
    parts = parts,
    usage = { input_tokens = usage and usage.input_tokens or 0, output_tokens = usage and usage.output_tokens or 0 },
    stop_reason = stop_reasons[stop_reason] or stop_reason,
  }
end

function A.decode(body)
  if type(body) ~= "table" or type(body.content) ~= "table" then
    return nil, "the response has no content"
  end
  return from_blocks(body.content, body.usage, body.stop_reason)
end

A.error_message = wire.error_message

-- Streaming: feed events with :event(ev, on_delta); :finish() gives the
-- canonical response. Raises (kind "model") on an in-band error event.
function A.stream()
  local st = { blocks = {}, usage = {}, json = {} }
  function st.event(_, ev, on_delta)
    local ok, d = pcall(json.decode, ev.data)
    if not ok or type(d) ~= "table" then return end
    local t = d.type or ev.event
    if t == "error" or ev.event == "error" then
      local msg = type(d.error) == "table" and d.error.message or ev.data
      error(E.new("model", tostring(msg), { in_stream = true }), 0)
    elseif t == "message_start" and type(d.message) == "table" then
      local u = d.message.usage or {}
      st.usage.input_tokens, st.usage.output_tokens = u.input_tokens, u.output_tokens
    elseif t == "content_block_start" and type(d.content_block) == "table" then
      st.blocks[d.index + 1] = d.content_block
      if d.content_block.type == "text" then d.content_block.text = d.content_block.text or "" end
      st.json[d.index + 1] = {}
    elseif t == "content_block_delta" and type(d.delta) == "table" then
      local b, delta = st.blocks[d.index + 1], d.delta
      if not b then return end
      if delta.type == "text_delta" then
        b.text = (b.text or "") .. delta.text
        if on_delta then on_delta(delta.text) end
      elseif delta.type == "input_json_delta" then
        local parts = st.json[d.index + 1]
        parts[#parts + 1] = delta.partial_json or ""
      elseif delta.type == "thinking_delta" then
        b.thinking = (b.thinking or "") .. (delta.thinking or "")
      elseif delta.type == "signature_delta" then
        b.signature = (b.signature or "") .. (delta.signature or "")
      elseif delta.type == "citations_delta" then
        b.citations = b.citations or json.array()
        b.citations[#b.citations + 1] = delta.citation
      end
    elseif t == "content_block_stop" then
      local b, parts = st.blocks[d.index + 1], st.json[d.index + 1]
      if b and (b.type == "tool_use" or b.type == "server_tool_use") then
        local text = table.concat(parts or {})
        if text:match("%S") then
          local ok2, input = pcall(json.decode, text)
          if not ok2 then
            error(E.new("model", "tool input in the stream is not JSON: " .. wire.excerpt(text)), 0)
          end
          b.input = input
        end
        b.input = setmetatable(type(b.input) == "table" and b.input or {}, { __jsontype = "object" })
      end
    elseif t == "message_delta" then
      if type(d.delta) == "table" and d.delta.stop_reason then st.stop_reason = d.delta.stop_reason end
      if type(d.usage) == "table" then -- cumulative
        st.usage.output_tokens = d.usage.output_tokens or st.usage.output_tokens
        st.usage.input_tokens = d.usage.input_tokens or st.usage.input_tokens
      end
    end
  end
  function st.finish()
    return from_blocks(wire.dense(st.blocks), st.usage, st.stop_reason)
  end
  return st
end

return A
