-- Toolset instances and their lifetimes (seeds 000-002).
--
-- scope "call"   (default) the factory runs for every worker call; the
--                instance is cleaned up when that call ends
-- scope "run"    one instance per entry invocation (per toolset and
--                instance name), cleaned up when the run ends
-- scope "global" one per process, cleaned up when the process ends
-- Cleanups run exactly once per instance, in reverse order of creation,
-- whether the call succeeded, failed or was cancelled; a failing cleanup is
-- a warning and never replaces the call's own result or error.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local task = require "llmdo.core.task"
local term = require "llmdo.core.term"
local util = require "llmdo.util"
local llmdo = require "llmdo"
local schema = require "llmdo.schema"
local input = require "llmdo.input"
local builtins = require "llmdo.builtins"
local link = require "llmdo.link"

local M = {}

local WORKER_PARAMS = {
  type = "object",
  properties = {
    input = { type = "string" },
    attachments = { type = "array", items = { type = "string" } },
  },
  required = json.array { "input" },
  additionalProperties = false,
}

-- The one tool a worker listed in `toolsets` becomes (seed 003).
local function worker_tool(w)
  local desc = w.description or w.instructions
  if utf8.len(desc) and utf8.len(desc) > 200 then desc = desc:sub(1, utf8.offset(desc, 201) - 1) .. "..." end
  local name = w.name
  return {
    name = name, description = desc, kind = "worker", retries = 0,
    parameters = w.schema_in and w.schema_in.json or WORKER_PARAMS,
    -- the plane has already passed this call through the gate
    -- (the model wrote the arguments: its attachments stay beneath the roots)
    fn = function(args, ctx) return rawget(ctx, "_frame"):call_agent(name, args, input.FROM_MODEL) end,
  }
end

local json_cache = setmetatable({}, { __mode = "k" })

local function json_schema(params, where)
  if params == nil then return schema.to_json_schema(nil) end
  local cached = json_cache[params]
  if cached then return cached end
  local js, err = schema.to_json_schema(params, "params")
  if not js then util.fail("run", where .. ": " .. err) end
  json_cache[params] = js
  return js
end

-- A tool with `timeout` runs as a task of its own, stopped when the time is
-- up whether it waits or computes (task.timeout); the plane hands the
-- model "Tool 'x' timed out after N s".
local function timed(fn, seconds)
  return function(args, ctx) return task.timeout(seconds, fn, args, ctx) end
end

local function spec_of(entry)
  local ns = entry.target
  if ns.kind == "builtin" then return builtins.spec(ns.name, entry.config) end
  return ns.spec, entry.config
end

-- Runs a factory (or takes the static tools, checked by llmdo.toolset) and
-- checks what it returns.
local check_instance

local function instantiate(entry, spec, config, ctx, label)
  if not spec.factory then return { tools = spec.tools, cleanup = spec.cleanup, label = label, config = config } end
  local inst = spec.factory(ctx)
  -- what the factory made (a server it started, a file it opened) is
  -- cleaned up when its result is refused: it is never registered
  local ok, res = task.xpcall(check_instance, E.msghandler, entry, spec, inst, label, config)
  if not ok then
    if type(inst) == "table" and type(inst.cleanup) == "function" then task.shield(pcall, inst.cleanup) end
    error(res, 0)
  end
  return res
end

function check_instance(entry, spec, inst, label, config)
  if type(inst) ~= "table" then
    util.fail("run", "toolset '" .. label .. "': factory must return a table {tools=, cleanup=}, got "
      .. util.describe(inst))
  end
  for k in pairs(inst) do
    if k ~= "tools" and k ~= "cleanup" then
      util.fail("run", "toolset '" .. label .. "': factory result has unknown key '" .. tostring(k) .. "'")
    end
  end
  if type(inst.tools) ~= "table" then
    util.fail("run", "toolset '" .. label .. "': factory result needs tools = {...}")
  end
  if inst.cleanup ~= nil and type(inst.cleanup) ~= "function" then
    util.fail("run", "toolset '" .. label .. "': cleanup must be a function")
  end
  for name, def in pairs(inst.tools) do
    local path = "toolset '" .. label .. "': tools." .. tostring(name)
    if not util.is_tool_name(name) then
      util.fail("run", path .. ": tool names must match " .. util.TOOL_NAME_RULE)
    end
    local err = llmdo._tool_shape(def, path)
    if err then util.fail("run", err) end
  end
  local declared = spec.tool_names and link.static_tool_names(entry)
  if declared then
    local want = {}
    for _, n in ipairs(declared) do want[n] = true end
    for name, def in pairs(inst.tools) do
      local full = entry.prefix and (entry.prefix .. "_" .. name) or name
      if not want[full] and not def.hidden then
        util.fail("run", "toolset '" .. label .. "': tool '" .. name .. "' is not in its tool_names")
      end
    end
  end
  return { tools = inst.tools, cleanup = inst.cleanup, label = label, config = config }
end

-- An instance for `entry` in this call, honouring the toolset's scope.
local function acquire(entry, frame, def, run, call_instances)
  local spec, config = spec_of(entry)
  config = util.shallow_copy(config or {})
  local label = entry.instance and (entry.name .. " (" .. entry.target.name .. ")") or entry.name
  local scope = spec.scope_of and spec.scope_of(config) or spec.scope or "call"
  local ctx = { worker = def.name, config = config, project_root = run.project_root, depth = frame.depth,
    scope = scope, cwd = run.project.cwd, secret_vars = run.project.secret_vars, name = entry.prefix or entry.name }
  if scope == "call" then
    local inst = instantiate(entry, spec, config, ctx, label)
    call_instances[#call_instances + 1] = inst
    return inst
  end
  local key = entry.target.name .. "\0" .. (entry.prefix or "") .. "\0" .. json.encode(config, "s")
  local owner = scope == "run" and run or run.session
  local cache = scope == "run" and run.shared or run.session.globals
  local inst = cache[key]
  if not inst then
    inst = instantiate(entry, spec, config, ctx, label)
    cache[key] = inst
    owner.instances[#owner.instances + 1] = inst
  end
  return inst
end

-- Builds the tools of one worker call. Returns name -> tool, and the
-- tools in the order the worker lists its toolsets.
function M.build(frame, def, run, call_instances)
  local tools, list, owner = {}, {}, {}
  local function add(tool, label)
    if #tool.name > 64 then
      util.fail("run", def.display .. ": tool name '" .. tool.name .. "' (toolset '" .. label
        .. "') is longer than 64 characters, the limit at every provider")
    end
    local existing = tools[tool.name]
    -- a hidden tool (the blocked write_file of a read-only filesystem) gives way
    if existing and tool.hidden then return end
    if existing and existing.hidden then
      owner[tool.name], tools[tool.name] = nil, nil
    end
    if owner[tool.name] then
      util.fail("run", def.display .. ": toolsets '" .. owner[tool.name] .. "' and '" .. label
        .. "' both provide tool '" .. tool.name .. "'; give them instance names")
    end
    owner[tool.name] = label
    tools[tool.name] = tool
    if not tool.hidden then list[#list + 1] = tool end
  end
  for _, entry in ipairs(def.toolsets) do
    if entry.target.kind == "worker" then
      add(worker_tool(entry.target.worker), entry.name)
    else
      local inst = acquire(entry, frame, def, run, call_instances)
      for _, name in ipairs(util.sorted_keys(inst.tools)) do
        local d = inst.tools[name]
        local full = entry.prefix and (entry.prefix .. "_" .. name) or name
        add({
          name = full, kind = "lua", config = inst.config,
          description = d.description or "",
          parameters = json_schema(d.params, "toolset '" .. inst.label .. "': tools." .. name),
          fn = d.timeout and timed(d.fn, d.timeout) or d.fn, approval = d.approval, describe = d.describe,
          retries = d.retries or 1, sequential = d.sequential or false, hidden = d.hidden,
        }, inst.label)
      end
    end
  end
  return tools, list
end

-- Runs the cleanups of `instances` once each, newest first.
function M.cleanup(instances)
  for i = #instances, 1, -1 do
    local inst = instances[i]
    instances[i] = nil
    if inst.cleanup and not inst.cleaned then
      inst.cleaned = true
      local ok, err = pcall(inst.cleanup)
      if not ok then
        io.stderr:write("warning: cleanup of toolset '", inst.label, "' failed: ",
          term.escape(E.is(err) and err.message or tostring(err)), "\n")
      end
    end
  end
end

return M
