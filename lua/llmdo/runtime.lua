-- A run: run_entry runs a linked project's entry in a root frame; the
-- methods of 'rt' (the frame an entry receives) and of a tool's ctx. The
-- agent loop itself is lua/llmdo/agent.lua.
local E = require "llmdo.core.error"
local fs = require "llmdo.core.fs"
local http = require "llmdo.core.http"
local frame = require "llmdo.core.frame"
local task = require "llmdo.core.task"
local term = require "llmdo.core.term"
local tool = require "llmdo.core.tool"
local util = require "llmdo.util"
local input = require "llmdo.input"
local process = require "llmdo.process"
local agent = require "llmdo.agent"
local journal = require "llmdo.journal"
local toolsets = require "llmdo.toolsets"

local M = {}

local methods = frame.methods

methods.call_agent = agent.call

-- rt:call_tool / ctx:call_tool: one call through the tool plane, as a
-- model would make it; its value, or its failure raised.
local next_id = 0
local function call_tool(f, name, args)
  next_id = next_id + 1
  local o = journal.invoke(f, { id = "call_" .. next_id, name = name, args = args or {} })
  if o.kind == "ok" then return o.value end
  if o.kind == "error" or o.kind == "permission" then error(o.error, 0) end
  util.fail("run", o.message)
end
methods.call_tool = call_tool
methods.parallel = function(_, ...) return task.parallel(...) end
methods.map = function(_, list, fn, limit) return task.map(list, fn, limit) end

-- The ctx a tool's fn receives: { _frame, config, tool, call_id } (made by
-- the tool plane), with the frame's fields and these methods.
local Ctx = {}
tool.ctx_meta.__index = function(self, k)
  local m = Ctx[k]
  if m ~= nil then return m end
  return rawget(self, "_frame")[k]
end
-- A tool calling a worker passes the same gate as a model calling it.
function Ctx:call_agent(name, data)
  tool.gate_agent(self._frame, name, data)
  return agent.call(self._frame, name, data)
end
function Ctx:call_tool(name, args) return call_tool(self._frame, name, args) end
function Ctx.parallel(_, ...) return task.parallel(...) end
function Ctx.map(_, list, fn, limit) return task.map(list, fn, limit) end

-- Files for entry code, beneath the project root (trusted code, but the
-- same confinement as the filesystem toolset keeps mistakes inside).
local FILE_MAX = 10 * 1024 * 1024
local function file_error(path, kind, msg)
  if kind == "escape" then util.fail("permission", "Path escapes the project root: " .. path) end
  util.fail("run", (kind == "not_found" and "File not found: " or "Cannot access ") .. path
    .. (kind == "not_found" and "" or " (" .. tostring(msg) .. ")"))
end
methods.read_file = function(rt, path)
  local data, kind, msg = fs.read(rt.project_root, path, FILE_MAX)
  if not data then file_error(path, kind, msg) end
  return data
end
methods.write_file = function(rt, path, text)
  local ok, kind, msg = fs.write(rt.project_root, path, tostring(text), FILE_MAX)
  if not ok then file_error(path, kind, msg) end
end
methods.list_files = function(rt, dir, pattern)
  local out, kind, msg = require("llmdo.toolsets.filesystem").list(rt.project_root, dir or ".", pattern or "**/*",
    100000)
  if not out then file_error(dir, kind, msg) end
  return out
end
-- The process-wide session: global-scoped toolset instances.
M.session = { instances = {}, globals = {} }

function M.close_session()
  task.shield(toolsets.cleanup, M.session.instances)
  M.session.instances, M.session.globals = {}, {}
end

-- Runs the project's entry with `data` and returns its result.
-- opts: max_depth (overrides runtime.max_depth), approval_mode (overrides
-- runtime.approval_mode), stream (stream model responses: events are
-- shown), kind (error kind for input), history (messages of earlier turns).
-- The state of one run of `project`: options, run-scoped instances.
local function new_run(project, opts)
  local rtc = project.runtime
  return {
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
    request_timeout = math.ceil(rtc.request_timeout),
    max_concurrent_requests = rtc.max_concurrent_requests,
    worker_calls_require_approval = rtc.worker_calls_require_approval,
    worker_attachments_require_approval = rtc.worker_attachments_require_approval,
    worker_approval_overrides = rtc.worker_approval_overrides,
    session = M.session,
    instances = {},   -- run-scoped toolset instances, in creation order
    shared = {},      -- run-scoped instances by key
  }
end

-- Runs fn(rt) in the root frame of a new run, then the run's cleanups.
local function in_run(run, name, fn)
  http.limit(run.max_concurrent_requests) -- model and tool queues alike
  local rt = frame.root(run, { name = name })
  process.enter(run.project) -- llmdo.exec runs for this project
  local ok, res = task.xpcall(fn, E.msghandler, rt)
  frame.close(rt)
  task.shield(toolsets.cleanup, run.instances)
  process.leave(run.project)
  if not ok then error(res, 0) end
  return res, rt
end

-- The journal of a run (docs/journal.md), or nil. opts: journal (a file),
-- log (the default directory, unless no_log), replay, resume, argv.
local function open_journal(project, run, data, opts)
  if not (opts.journal or opts.replay or opts.resume or opts.log) then return nil end
  local j = journal.start {
    path = opts.journal, no_log = opts.no_log or not opts.log, replay = opts.replay, resume = opts.resume,
    project = project.display, entry = project.entry.name, argv = opts.argv, input = data, stream = run.stream,
  }
  -- a recorded run is answered as it asked: streamed or not (the wire body says which)
  if j and j.source then run.stream = j.source.start.stream or false end
  return j
end

function M.run_entry(project, data, opts)
  opts = opts or {}
  local entry = project.entry
  local run = new_run(project, opts)
  local args, parts = input.normalize(entry.schema_in, data, opts.kind or "run")
  local main = entry.main
  if entry.kind == "worker" then
    main = function(inp, rt) return rt:call_agent(entry.worker.name, inp) end
  end
  run.journal = open_journal(project, run, data, opts)
  local history, root
  local ok, res = task.xpcall(in_run, E.msghandler, run, entry.name, function(rt)
    root = rt
    history = frame.get(rt, "history")
    for i, m in ipairs(opts.history or {}) do history[i] = m end
    term.event("user", rt, input.display_text(parts))
    return main(args or parts, rt)
  end)
  local usage = root and frame.usage(root)
  if run.journal then
    local status = ok and (run.truncated and 3 or 0) or E.status(res)
    run.journal:finish(status, not ok and res or nil, usage, run.truncated)
  end
  if not ok then error(res, 0) end
  return res, { messages = history, usage = usage, truncated = run.truncated or false,
    journal = run.journal and run.journal.path }
end

-- llmdo tool: one call of `tool_name` with `args` among worker's tools,
-- through the plane, with no model. Returns the outcome (toolplane.h).
function M.run_tool(project, worker, tool_name, args, opts)
  return (in_run(new_run(project, opts or {}), worker, function(rt)
    return agent.call_tool_alone(rt, worker, { id = "call_1", name = tool_name, args = args })
  end))
end

-- llmdo check --tools: what worker is offered, its factories run.
function M.tool_list(project, worker)
  return (in_run(new_run(project, {}), worker, function(rt) return agent.tool_list(rt, worker) end))
end

return M
