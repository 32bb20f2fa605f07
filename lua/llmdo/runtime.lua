-- The Lua half of a run: the hooks agent.c calls at each step of a worker
-- call (toolset instances, requests, recording responses and tool results,
-- cleanup), and run_entry, which runs a linked project's entry.
local core = require "llmdo.core"
local util = require "llmdo.util"
local input = require "llmdo.input"
local models = require "llmdo.models"
local toolsets = require "llmdo.toolsets"

local M = {}

-- user value slots of a frame (frame.h)
local UV_DEF, UV_MESSAGES, UV_TOOLS, UV_RESULT, UV_PARENT, UV_RUN, UV_STATE = 1, 2, 3, 5, 6, 7, 9

local function uv(frame, slot) return core.frame_uv(frame, slot) end

-- Appends a canonical message to the call's history (and the -vvv log).
local function append(frame, msg)
  local messages = uv(frame, UV_MESSAGES)
  messages[#messages + 1] = msg
  core.event("message", frame, msg)
end

local function root_of(frame)
  while frame.depth > 0 do frame = uv(frame, UV_PARENT) end
  return frame
end

-- call_agent, after the depth check: finds the worker, normalises the
-- input, builds the call's first messages. Only the first call made from
-- the entry (depth 0) in a turn takes the entry's history (features §15).
-- Returns def, messages, state.
local function prepare_call(rt, name, data)
  local run = uv(rt, UV_RUN)
  local def = run.project.workers[name]
  if not def then
    util.fail("run", "Agent '" .. tostring(name) .. "' not found. Available: "
      .. util.list(util.sorted_keys(run.project.workers)))
  end
  local _, parts = input.normalize(def.schema_in, data, "run")
  local messages = {}
  local rtc = run.project.runtime
  local state = {
    retries = {}, instances = {},
    max_requests = def.max_requests or rtc.max_requests,
    max_tool_calls = def.max_tool_calls or rtc.max_tool_calls,
  }
  if rt.depth == 0 and not run.history_taken then
    run.history_taken = true
    state.takes_history = true
    for i, m in ipairs(uv(rt, UV_MESSAGES)) do messages[i] = m end
  end
  messages[#messages + 1] = input.user_message(parts, run.project.root)
  return def, messages, state
end

-- First task of a call: instantiates its toolsets (call-scoped instances
-- are recorded as they are made, so a failing factory still gets the
-- earlier ones cleaned up).
local function build_toolsets(frame)
  local state = uv(frame, UV_STATE)
  local messages = uv(frame, UV_MESSAGES)
  for _, m in ipairs(messages) do core.event("message", frame, m) end
  local tools, list = toolsets.build(frame, uv(frame, UV_DEF), uv(frame, UV_RUN), state.instances)
  core.frame_uv(frame, UV_TOOLS, tools)
  state.tool_list = list
end

-- The canonical request a model turn sends (DESIGN §1.4).
local function build_request(frame)
  local def = uv(frame, UV_DEF)
  local state = uv(frame, UV_STATE)
  local tools = {}
  for i, t in ipairs(state.tool_list) do
    tools[i] = { name = t.name, description = t.description, parameters = t.parameters }
  end
  return {
    worker = def.name,
    depth = frame.depth,
    model = def.model,
    instructions = def.instructions,
    tools = tools,
    server_tools = def.server_side_tools,
    messages = util.deep_copy(uv(frame, UV_MESSAGES)),
  }
end

-- Runs in the call's model-turn task: may wait on the network.
local function model_turn(frame)
  local def = uv(frame, UV_DEF)
  local run = uv(frame, UV_RUN)
  local state = uv(frame, UV_STATE)
  state.streamed = false
  return models.request(def.model_spec, build_request(frame), {
    stream = run.stream,
    max_retries = run.max_retries,
    connect_timeout_ms = run.connect_timeout_ms,
    idle_timeout = run.idle_timeout,
    on_delta = function(text)
      if not state.streamed then
        state.streamed = true
        core.event("text_start", frame)
      end
      core.event("delta", frame, text)
    end,
    on_reset = function()
      if state.streamed then core.event("delta", frame, "\n[stream interrupted; retrying]\n") end
      state.streamed = false
    end,
  })
end

-- After a model turn: records the assistant message. Returns the next
-- action: "final", text or "tools", number of calls.
local function after_turn(frame, response)
  local state = uv(frame, UV_STATE)
  if response.text then
    if not state.streamed then core.event("text_start", frame) end
    core.event("response", frame, response.text)
  end
  -- HTTP backends give the parts in order (with server-tool blocks);
  -- scripted models give text and tool calls
  local parts = response.parts
  if not parts then
    parts = {}
    if response.text then parts[1] = { type = "text", text = response.text } end
    for _, call in ipairs(response.tool_calls) do
      parts[#parts + 1] = { type = "tool_call", id = call.id, name = call.name, args = call.args }
    end
  end
  local calls = {}
  for _, p in ipairs(parts) do
    if p.type == "tool_call" then
      if not p.id or p.id == "" then p.id = string.format("call_%d_%d", frame.depth, #calls + 1) end
      calls[#calls + 1] = { id = p.id, name = p.name, args = p.args }
    elseif p.type == "provider" and p.block.type == "server_tool_use" then
      core.event("server_tool", frame, p.block.name or "?", p.block.input or {})
    end
  end
  append(frame, { role = "assistant", parts = parts })
  if #calls == 0 then
    core.event("complete", frame)
    return "final", response.text or ""
  end
  local outcomes = {}
  for i = 1, #calls do outcomes[i] = false end
  uv(frame, UV_STATE).turn = { calls = calls, outcomes = outcomes, failure = false }
  return "tools", #calls
end

local RETRY_SUFFIX = "\n\nFix the errors and try again."

-- After every tool call of a turn finished: one tool message with the
-- results in call order. Retry prompts count against each tool's budget;
-- a tool error fails the call.
local function after_tools(frame)
  local state = uv(frame, UV_STATE)
  local turn = state.turn
  state.turn = nil
  if turn.failure then error(turn.failure, 0) end
  local tools = uv(frame, UV_TOOLS)
  local run = uv(frame, UV_RUN)
  local parts = {}
  -- as pydantic-ai: a tool's failures count while they are consecutive; a
  -- turn where it did not fail starts its count again
  local retries, failed = state.retries, {}
  state.retries = failed
  for i, call in ipairs(turn.calls) do
    local o = turn.outcomes[i]
    local part = { type = "tool_result", id = call.id, name = call.name }
    if o.kind == "ok" then
      part.content, part.is_error = o.content, false
    elseif o.kind == "retry" or o.kind == "unknown" then
      local tool = tools[call.name]
      local budget = tool and tool.retries or 1
      local key = tool and call.name or "\0unknown"
      local used = (retries[key] or 0) + 1
      failed[key] = used
      if used > budget then
        util.fail("run", "Tool '" .. call.name .. "' exceeded max retries count of " .. budget
          .. " (last problem: " .. o.message .. ")")
      end
      part.content, part.is_error = o.message .. RETRY_SUFFIX, true
    elseif o.kind == "permission" then
      if not run.return_permission_errors then error(o.error, 0) end
      part.content = core.json_encode({ error = o.message, tool_name = call.name, error_type = "permission" }, "s")
      part.is_error = false
    else
      error(o.error, 0)
    end
    parts[i] = part
  end
  append(frame, { role = "tool", parts = parts })
end

-- After the call ended (either way): runs its call-scoped cleanups, in
-- reverse order of creation; a failing cleanup is a warning.
local function cleanup_call(frame)
  toolsets.cleanup(uv(frame, UV_STATE).instances)
end

-- Last: the entry's history after the call that took it.
local function finish_call(frame, ok)
  local state = uv(frame, UV_STATE)
  if state.takes_history and ok then
    local root = root_of(frame)
    local history = uv(root, UV_MESSAGES)
    for i = #history, 1, -1 do history[i] = nil end
    for i, m in ipairs(uv(frame, UV_MESSAGES)) do history[i] = m end
  end
end

-- The ctx a tool's fn receives.
local Ctx = {}
function Ctx.__index(self, k)
  local m = Ctx[k]
  if m ~= nil then return m end
  return rawget(self, "_frame")[k]
end
-- A tool calling a worker passes the same gate as a model calling it.
function Ctx:call_agent(name, data)
  core.approve_agent(self._frame, name, data)
  return self._frame:call_agent(name, data)
end
function Ctx:call_tool(name, args) return core.call_tool(self._frame, name, args) end

local function tool_ctx(frame, tool, call)
  return setmetatable({ _frame = frame, config = tool.config or {}, tool = tool.name, call_id = call.id }, Ctx)
end

function Ctx.parallel(_, ...) return core.parallel(...) end
function Ctx.map(_, list, fn, limit) return core.map(list, fn, limit) end

-- rt:call_tool from entry code goes through the same plane (and finds no tools).
core.frame_methods.call_tool = function(rt, name, args) return core.call_tool(rt, name, args) end
core.frame_methods.parallel = function(_, ...) return core.parallel(...) end

-- Files for entry code, beneath the project root (trusted code, but the
-- same confinement as the filesystem toolset keeps mistakes inside).
local FILE_MAX = 10 * 1024 * 1024
local function file_error(path, kind, msg)
  if kind == "escape" then util.fail("permission", "Path escapes the project root: " .. path) end
  util.fail("run", (kind == "not_found" and "File not found: " or "Cannot access ") .. path
    .. (kind == "not_found" and "" or " (" .. tostring(msg) .. ")"))
end
core.frame_methods.read_file = function(rt, path)
  local data, kind, msg = core.fs_read(rt.project_root, path, FILE_MAX)
  if not data then file_error(path, kind, msg) end
  return data
end
core.frame_methods.write_file = function(rt, path, text)
  local ok, kind, msg = core.fs_write(rt.project_root, path, tostring(text), FILE_MAX)
  if not ok then file_error(path, kind, msg) end
end
core.frame_methods.list_files = function(rt, dir, pattern)
  local fs = require "llmdo.toolsets.filesystem"
  local out, kind, msg = fs.list(rt.project_root, dir or ".", pattern or "**/*", 100000)
  if not out then file_error(dir, kind, msg) end
  return out
end
core.frame_methods.map = function(_, list, fn, limit) return core.map(list, fn, limit) end

core.set_hooks {
  prepare_call = prepare_call,
  build_toolsets = build_toolsets,
  model_turn = model_turn,
  after_turn = after_turn,
  after_tools = after_tools,
  tool_ctx = tool_ctx,
  cleanup_call = cleanup_call,
  finish_call = finish_call,
}

-- The process-wide session: global-scoped toolset instances.
M.session = { instances = {}, globals = {} }

function M.close_session()
  toolsets.cleanup(M.session.instances)
  M.session.instances, M.session.globals = {}, {}
end

-- Runs the project's entry with `data` and returns its result.
-- opts: max_depth (overrides runtime.max_depth), approval_mode (overrides
-- runtime.approval_mode), stream (stream model responses: events are
-- shown), kind (error kind for input), history (messages of earlier turns).
function M.run_entry(project, data, opts)
  opts = opts or {}
  local entry = project.entry
  local rtc = project.runtime
  local run = {
    project = project,
    project_root = project.root,
    max_depth = opts.max_depth or rtc.max_depth,
    max_total_requests = rtc.max_total_requests,
    return_permission_errors = rtc.return_permission_errors,
    approval_mode = opts.approval_mode or rtc.approval_mode,
    stream = opts.stream or false,
    max_retries = rtc.max_retries,
    connect_timeout_ms = math.floor(rtc.connect_timeout * 1000),
    idle_timeout = math.ceil(rtc.idle_timeout),
    worker_calls_require_approval = rtc.worker_calls_require_approval,
    worker_attachments_require_approval = rtc.worker_attachments_require_approval,
    worker_approval_overrides = rtc.worker_approval_overrides,
    session = M.session,
    instances = {},   -- run-scoped toolset instances, in creation order
    shared = {},      -- run-scoped instances by key
  }
  local args, parts = input.normalize(entry.schema_in, data, opts.kind or "run")
  local main = entry.main
  if entry.kind == "worker" then
    main = function(inp, rt) return rt:call_agent(entry.worker.name, inp) end
  end
  local rt = core.frame_root(run, { name = entry.name })
  local history = uv(rt, UV_MESSAGES)
  for i, m in ipairs(opts.history or {}) do history[i] = m end
  core.event("user", rt, input.display_text(parts))
  local ok, res = xpcall(main, core.msghandler, args or parts, rt)
  core.frame_close(rt)
  toolsets.cleanup(run.instances)
  if not ok then error(res, 0) end
  return res, { messages = history, usage = core.frame_usage(rt) }
end

M._UV_RESULT = UV_RESULT
return M
