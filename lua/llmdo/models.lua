-- Models: resolution at link time (features.md §5) and the backends a
-- worker's model turn goes through.
--
-- A model string is "provider:model" (anthropic:claude-haiku-4-5,
-- openai:gpt-4o-mini, ollama:llama3, <project provider>:name), "lua:NAME"
-- for a scripted model exported with llmdo.model, or "test".
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local txt = require "llmdo.core.text"
local http = require "llmdo.core.http"
local sys = require "llmdo.core.sys"
local task = require "llmdo.core.task"
local util = require "llmdo.util"
local J = require "llmdo.core.journal"

local M = {}

local function env_model()
  for _, var in ipairs { "LLMDO_MODEL", "LLM_DO_MODEL" } do
    local v = os.getenv(var)
    if v and v ~= "" then return v, var end
  end
end

local function config() return require("llmdo.config").current() end

-- A model alias from the config file (`fast` for "anthropic:claude-haiku-4-5")
-- becomes its model string wherever a model is accepted: a worker's model,
-- --model, LLMDO_MODEL, the config's own default.
function M.expand(model)
  local target = (config().aliases or {})[model]
  return target or model, target ~= nil
end

local function matches(model, patterns)
  local m = model:match("^%s*(.-)%s*$")
  for _, p in ipairs(patterns) do
    if txt.glob_match(p:match("^%s*(.-)%s*$"), m, "i") then return true end
  end
  return false
end
M.matches = matches

-- The model string for a worker, and where it came from.
-- opts.model is --model. Raises project errors with the reference's texts.
function M.select(worker, opts)
  local name = worker.name
  if worker.model and worker.compatible_models then
    util.fail("project", "Worker '" .. name .. "' cannot have both 'model' and 'compatible_models' set.")
  end
  if worker.model then
    local m, aliased = M.expand(worker.model)
    return m, aliased and "the worker file (alias '" .. worker.model .. "')" or "the worker file"
  end
  local model, source = opts.model, "--model"
  if not model then model, source = env_model() end
  if not model and config().model then model, source = config().model, "the config file" end
  if model then
    local aliased
    model, aliased = M.expand(model)
    if aliased then source = source .. " (an alias)" end
    local patterns = worker.compatible_models
    if patterns then
      if #patterns == 0 then
        util.fail("project", "Worker '" .. name .. "' has empty compatible_models list. Use ['*'] for any model.")
      end
      if not matches(model, patterns) then
        local shown = {}
        for i, p in ipairs(patterns) do shown[i] = "'" .. p .. "'" end
        util.fail("project", "Model '" .. model .. "' incompatible with '" .. name .. "'. Patterns: "
          .. table.concat(shown, ", "))
      end
    end
    return model, source
  end
  -- `llmdo tool` calls no model: a worker without one links with `test`
  if opts.model_optional then return "test", "no model needed" end
  util.fail("project", "No model configured for worker '" .. name
    .. "'. Set model in the worker file, pass --model, set LLMDO_MODEL, or set model in the config file.")
end

-- Parses a model string into a spec the backends understand.
-- project: { providers = {name = {api=, base_url=, api_key_env=}}, models = {NAME = llmdo.model} }
function M.parse(model, worker_name, source, project)
  local function fail(msg)
    util.fail("project", msg .. " (model '" .. model .. "' from " .. source .. ", worker '" .. worker_name .. "')")
  end
  if model == "test" then return { provider = "test", string = model } end
  local provider, name = model:match("^([^:]+):(.+)$")
  if not provider then
    fail("Invalid model: expected provider:model, for example anthropic:claude-haiku-4-5")
  end
  if provider == "lua" then
    local m = project.models[name]
    if not m then
      fail("Unknown scripted model 'lua:" .. name .. "'. Exported models: "
        .. util.list(util.sorted_keys(project.models)))
    end
    return { provider = "lua", name = name, fn = m.fn, string = model }
  end
  if provider == "anthropic" or provider == "openai" or provider == "ollama" then
    local api = provider == "anthropic" and "anthropic" or "openai"
    return { provider = provider, name = name, api = api, string = model }
  end
  local custom = project.providers[provider] or (config().providers or {})[provider]
  if custom then
    return {
      provider = provider, name = name, api = custom.api, base_url = custom.base_url,
      api_key_env = custom.api_key_env, string = model,
    }
  end
  local known = { "anthropic", "lua", "ollama", "openai", "test" }
  for _, p in ipairs(util.sorted_keys(project.providers)) do known[#known + 1] = p end
  for _, p in ipairs(util.sorted_keys(config().providers or {})) do
    if not project.providers[p] then known[#known + 1] = p end
  end
  table.sort(known)
  local near = require("llmdo.suggest").nearest(provider, known)
  fail("Unknown provider '" .. provider .. "'" .. (near and "; did you mean '" .. near .. "'?" or ".")
    .. " Known providers: " .. table.concat(known, ", "))
end

-- Checks a scripted model's answer and returns the canonical response:
-- { text = string|nil, tool_calls = { {id=, name=, args=} ... } }.
function M.canonical_response(out, model_string)
  local function bad(msg)
    util.fail("model", "model '" .. model_string .. "' returned an invalid response: " .. msg)
  end
  if type(out) == "string" then out = { text = out } end
  if type(out) ~= "table" then bad("expected a table {text=} or {tool_calls=}, got " .. util.describe(out)) end
  for k in pairs(out) do
    if k ~= "text" and k ~= "tool_calls" and k ~= "usage" and k ~= "stop_reason" and k ~= "refusal" then
      bad("unknown key '" .. tostring(k) .. "'")
    end
  end
  if out.text ~= nil and type(out.text) ~= "string" then bad("text must be a string") end
  if out.stop_reason ~= nil and not M.stop_reasons[out.stop_reason] then
    bad("stop_reason must be one of " .. table.concat(util.sorted_keys(M.stop_reasons), ", "))
  end
  local calls = {}
  if out.tool_calls ~= nil then
    if type(out.tool_calls) ~= "table" or not require("llmdo.validate").is_list(out.tool_calls) then
      bad("tool_calls must be a list of {name=, args=}")
    end
    for i, c in ipairs(out.tool_calls) do
      if type(c) ~= "table" or type(c.name) ~= "string" then bad("tool_calls[" .. i .. "] needs a name") end
      if c.args ~= nil and type(c.args) ~= "table" and type(c.args) ~= "string" then
        bad("tool_calls[" .. i .. "].args must be a table (or JSON text)")
      end
      local args, args_error = c.args or {}, nil
      if type(args) == "string" then -- JSON text, as a provider sends it: read as a provider's
        args, args_error = require("llmdo.providers.wire").tool_args(args)
      end
      calls[i] = { id = c.id and tostring(c.id) or nil, name = c.name, args = args, args_error = args_error }
    end
  end
  if out.text == nil and #calls == 0 and out.stop_reason == nil then bad("it has neither text nor tool_calls") end
  return { text = out.text, tool_calls = calls, usage = out.usage, refusal = out.refusal,
    stop_reason = out.stop_reason or (#calls > 0 and "tool_use" or "end_turn") }
end

-- The canonical stop reasons (DESIGN §10).
M.stop_reasons = { end_turn = true, tool_use = true, max_tokens = true, stop_sequence = true, pause_turn = true,
  refusal = true, content_filter = true, context_window = true }

local backends = {}

-- Scripted models are user code: they get a copy of the history, so they
-- cannot change the call's.
local function scripted(req)
  req.messages = util.deep_copy(req.messages)
  local tools = {}
  for i, t in ipairs(req.tools) do tools[i] = util.shallow_copy(t) end
  req.tools, req.settings = tools, util.shallow_copy(req.settings)
  return req
end

backends.lua = function(spec, req)
  return M.canonical_response(spec.fn(scripted(req)), spec.string)
end

backends.test = function(spec, req)
  return M.canonical_response(require("llmdo.testmodel").respond(scripted(req)), spec.string)
end

-- Where a provider lives and how to authenticate: url, headers, key variable.
-- ANTHROPIC_BASE_URL is the root (/v1/messages is appended); OPENAI_BASE_URL
-- and OLLAMA_BASE_URL include /v1, as in the official SDKs.
function M.endpoint(spec)
  local base, key_var, required
  if spec.provider == "anthropic" then
    base, key_var, required = os.getenv("ANTHROPIC_BASE_URL") or "https://api.anthropic.com", "ANTHROPIC_API_KEY", true
  elseif spec.provider == "openai" then
    base, key_var, required = os.getenv("OPENAI_BASE_URL") or "https://api.openai.com/v1", "OPENAI_API_KEY", true
  elseif spec.provider == "ollama" then
    base, key_var, required = os.getenv("OLLAMA_BASE_URL") or "http://localhost:11434/v1", "OLLAMA_API_KEY", false
  else
    base, key_var, required = spec.base_url, spec.api_key_env, spec.api_key_env ~= nil
  end
  if base == "" then base = nil end
  base = (base or ""):gsub("/+$", "")
  local key = key_var and os.getenv(key_var)
  if key == "" then key = nil end
  if key then J.add_secret(key_var, key) end -- whatever its variable is called, journals redact it
  local headers = { "content-type: application/json" }
  local url
  if spec.api == "anthropic" then
    url = base .. "/v1/messages"
    headers[#headers + 1] = "anthropic-version: 2023-06-01"
    if key then headers[#headers + 1] = "x-api-key: " .. key end
  else
    url = base .. "/chat/completions"
    if key then headers[#headers + 1] = "authorization: Bearer " .. key end
  end
  return url, headers, key_var, required and not key
end

-- A worker whose provider needs a key that is not set: the message, or nil.
function M.missing_key(def)
  local spec = def.model_spec
  if not spec.api then return nil end
  local _, _, var, missing = M.endpoint(spec)
  if missing then
    return var .. " is not set (worker '" .. def.name .. "' uses " .. spec.string .. ")"
  end
end

-- The server-side tools a provider offers (features §11).
local server_support = {
  anthropic = { web_search = true, web_fetch = true, code_execution = true },
  openai = {},
}

-- Refuses server_side_tools the worker's provider does not have.
function M.check_server_tools(def)
  local spec = def.model_spec
  if not spec.api then return end
  for _, t in ipairs(def.server_side_tools) do
    if not server_support[spec.api][t.tool_type] then
      util.fail("project", def.display .. ": server_side_tools: " .. t.tool_type .. " is not available with "
        .. spec.string .. " (" .. (spec.api == "anthropic" and "Anthropic offers web_search, web_fetch and "
        .. "code_execution" or "OpenAI-compatible chat completions have no server-side tools") .. ")")
    end
  end
end

-- Failures that retrying later may cure (rate limits, overload, a server
-- or the network down, after llmdo's own retries) are marked transient:
-- their exit status is 75 (docs/cli.md), so a scheduler can retry the job.
local function http_error(spec, status, text, p)
  util.fail("model", "Model API error (status " .. status .. ") from " .. spec.string .. ": " .. p.error_message(text),
    { status = status, transient = status == 408 or status == 429 or status >= 500 or nil })
end

local function request_failed(spec, why)
  util.fail("model", "Model request to " .. spec.string .. " failed: " .. why, { transient = true })
end

-- A whole response body: the canonical response, or the provider's error.
local function whole_body(p, spec, status, text, err)
  if not status then request_failed(spec, err) end
  if status < 200 or status >= 300 then http_error(spec, status, text, p) end
  local ok, decoded = pcall(json.decode, text)
  if not ok then
    util.fail("model", "Model API error (status " .. status .. ") from " .. spec.string
      .. ": the response is not JSON: " .. require("llmdo.providers.wire").excerpt(text))
  end
  local e = type(decoded) == "table" and decoded.error
  if type(e) == "table" or type(e) == "string" then http_error(spec, status, text, p) end
  local result, derr = p.decode(decoded)
  if not result then
    util.fail("model", "Model API error (status " .. status .. ") from " .. spec.string .. ": " .. derr)
  end
  return result
end

-- One streamed transfer: the canonical response, or nil when the stream
-- ended before its terminal event (a proxy or server cut it cleanly).
-- tape (when journaling) keeps the raw answer: the SSE events, status.
local function stream_body(p, spec, h, ctx, tape)
  local st, events = p.stream(), 0
  while true do
    local ev = h:next()
    if ev == nil then break end
    if ev == "reset" then -- the stream broke and the request is being retried
      st, events = p.stream(), 0
      if tape then tape.events = {} end
      if ctx.on_reset then ctx.on_reset() end
    else
      events = events + 1
      if tape then tape.events[events] = ev end
      local ok, err = pcall(st.event, st, ev, ctx.on_delta)
      if not ok then
        if E.is(err) and err.in_stream then
          util.fail("model", "Model API error (in stream) from " .. spec.string .. ": " .. err.message,
            { transient = err.transient })
        end
        error(err, 0)
      end
    end
  end
  local status, text, err = h:wait()
  if tape then tape.status, tape.error, tape.body = status, err, text ~= "" and text or nil end
  -- a failure, an error status, or an answer the server did not stream
  if not status or status < 200 or status >= 300 or (events == 0 and text ~= "") then
    return whole_body(p, spec, status, text, err)
  end
  if not st.ended then return nil end
  return st.finish()
end

-- The answer of one transfer (h: a live handle, or a journal's tape).
local function answer(p, spec, h, ctx, tape)
  if ctx.stream then return stream_body(p, spec, h, ctx, tape) end
  local status, text, err = h:wait()
  if tape then tape.status, tape.body, tape.error = status, text, err end
  return whole_body(p, spec, status, text, err)
end

local function early_end(p, spec)
  request_failed(spec, "stream ended early (no " .. p.stream_terminal .. ")")
end

-- Transport failures are retried inside http.c; a stream that ends
-- cleanly but early is retried here, with the same backoff, within
-- max_retries and request_timeout. tape: the last attempt's raw answer.
local function live(p, spec, body, ctx, tape)
  local url, headers = M.endpoint(spec)
  local total_ms = (ctx.request_timeout or 600) * 1000
  local started, retries = sys.now(), 0
  while true do
    local h <close> = http.request {
      url = url, headers = headers, body = body, stream = ctx.stream,
      -- a plain (unstreamed) answer sends no byte until it is whole, however
      -- long the model writes: only request_timeout bounds it
      max_retries = ctx.max_retries, connect_timeout_ms = ctx.connect_timeout_ms,
      idle_timeout = ctx.stream and ctx.idle_timeout or ctx.request_timeout,
      request_timeout = math.max(1, math.ceil((total_ms - (sys.now() - started)) / 1000)),
      max_concurrent_requests = ctx.max_concurrent_requests,
    }
    if tape then tape.events = ctx.stream and {} or nil end
    local result = answer(p, spec, h, ctx, tape)
    if tape then tape.retries = h:retries() end
    if result then
      for _, c in ipairs(result.tool_calls) do
        if type(c.name) ~= "string" or c.name == "" then
          util.fail("model", "Model API error from " .. spec.string .. ": a tool call without a name")
        end
      end
      return result
    end
    local wait_ms = math.min(500 * 2 ^ retries, 8000) * (1 - 0.25 * math.random())
    if retries >= (ctx.max_retries or 4) or sys.now() - started + wait_ms >= total_ms then early_end(p, spec) end
    h:close()
    task.sleep(wait_ms)
    retries = retries + 1
    if ctx.on_reset then ctx.on_reset() end
  end
end

-- A request with the run's journal (ctx.journal): the request is written,
-- then answered from the recorded run (--replay, --resume) or live, and
-- the answer is written as it arrived. body: what identifies the request
-- (the wire body; a scripted model's canonical request); ask(tape) the
-- live answer; decode(recorded) the canonical response of a recorded one.
local function journaled(spec, ctx, body, ask, decode, body_error)
  local j = ctx.journal
  local seq, rec = j:request(spec, ctx, body, body_error)
  local tape = {}
  local started = sys.now()
  local ok, res = pcall(function()
    if rec then return decode(rec) end
    return ask(tape)
  end)
  if rec then
    tape = { status = rec.status, body = rec.body, events = rec.events, error = rec.error, response = rec.response,
      from_journal = j.mode }
  elseif ok and tape.events then
    -- a streamed answer is many small events: a secret the model repeats
    -- arrives in pieces no line-by-line redaction finds. The answer holds
    -- it whole: then the journal keeps the (redacted) answer, not the events
    local eok, enc = pcall(json.encode, res, "s")
    if not eok or J.has_secret(enc) then tape.events, tape.response, tape.redacted = nil, res, true end
  end
  j:response(seq, tape, ok and res or nil, math.floor(sys.now() - started), tape.retries)
  if not ok then
    j:request_failed(seq, res)
    error(res, 0)
  end
  return res
end

backends.http = function(spec, req, ctx)
  local p = require("llmdo.providers." .. spec.api)
  -- sorted: the same bytes every run; sized like this worker's last body;
  -- a C buffer ("b"), freed when this request is done, never a Lua string
  local body <close> = json.encode(p.encode(req, spec, { stream = ctx.stream }), "sb", spec.last_body_size)
  spec.last_body_size = #body
  if not ctx.journal then return live(p, spec, body, ctx) end
  return journaled(spec, ctx, body, function(tape) return live(p, spec, body, ctx, tape) end, function(rec)
    if rec.response then return rec.response end -- kept decoded (redacted), not as the wire had it
    local r = answer(p, spec, require("llmdo.journal").tape(rec), { stream = rec.events ~= nil,
      on_delta = ctx.on_delta })
    return r or early_end(p, spec)
  end)
end

-- One model request: the canonical request in, the canonical response out.
-- Runs inside the worker call's model-turn task, so backends may wait.
-- ctx: stream, on_delta, on_reset, max_retries, connect_timeout_ms, idle_timeout,
-- request_timeout.
function M.request(spec, req, ctx)
  local backend = backends[spec.provider] or (spec.api and backends.http)
  if not backend then
    util.fail("model", "provider '" .. spec.provider .. "' (" .. spec.string .. ") is not available in this build")
  end
  ctx = ctx or {}
  if ctx.journal and not spec.api then -- a scripted model: its request is the canonical one
    local ok, body = pcall(json.encode, req, "s")
    return journaled(spec, ctx, ok and body or "", function(tape)
      local r = backend(spec, req, ctx)
      tape.response = r
      return r
    end, function(rec) return M.canonical_response(rec.response, spec.string) end, not ok and tostring(body) or nil)
  end
  return backend(spec, req, ctx)
end

return M
