-- The Lua half of a run: the hooks agent.c calls at each step of a worker
-- call, and run_entry, which runs a linked project's entry.
local core = require "llmdo.core"
local util = require "llmdo.util"
local input = require "llmdo.input"
local models = require "llmdo.models"

local M = {}

-- user value slots of a frame (frame.h)
local UV_DEF, UV_MESSAGES, UV_RUN = 1, 2, 7

local function run_of(frame) return core.frame_uv(frame, UV_RUN) end

-- call_agent, after the depth check: finds the worker, normalises the
-- input and builds the first messages of the call. Returns def, messages.
local function prepare_call(rt, name, data)
  local run = run_of(rt)
  local def = run.project.workers[name]
  if not def then
    util.fail("run", "Agent '" .. tostring(name) .. "' not found. Available: "
      .. util.list(util.sorted_keys(run.project.workers)))
  end
  local _, parts = input.normalize(def.schema_in, data, "run")
  return def, { input.user_message(parts, run.project.root) }
end

-- The canonical request a model turn sends (DESIGN §1.4).
local function build_request(frame)
  local def = core.frame_uv(frame, UV_DEF)
  return {
    worker = def.name,
    depth = frame.depth,
    model = def.model,
    instructions = def.instructions,
    tools = {},
    messages = util.deep_copy(core.frame_uv(frame, UV_MESSAGES)),
  }
end

-- Runs in the call's model-turn task: may wait on the network.
local function model_turn(frame)
  local def = core.frame_uv(frame, UV_DEF)
  return models.request(def.model_spec, build_request(frame))
end

-- After a model turn: records the assistant message; returns the next
-- action: "final", text.
local function after_turn(frame, response)
  local messages = core.frame_uv(frame, UV_MESSAGES)
  local parts = {}
  if response.text then parts[#parts + 1] = { type = "text", text = response.text } end
  for _, call in ipairs(response.tool_calls) do
    parts[#parts + 1] = { type = "tool_call", id = call.id, name = call.name, args = call.args }
  end
  messages[#messages + 1] = { role = "assistant", parts = parts }
  if #response.tool_calls > 0 then
    util.fail("run", "worker '" .. frame.worker .. "': the model called tool '" .. response.tool_calls[1].name
      .. "' but this build does not run tools yet")
  end
  return "final", response.text or ""
end

core.set_hooks {
  prepare_call = prepare_call,
  model_turn = model_turn,
  after_turn = after_turn,
}

-- Runs the project's entry with `data` and returns its result.
-- opts: max_depth (overrides runtime.max_depth), kind (error kind for input).
function M.run_entry(project, data, opts)
  opts = opts or {}
  local entry = project.entry
  local run = {
    project = project,
    project_root = project.root,
    max_depth = opts.max_depth or project.runtime.max_depth,
  }
  local args, parts = input.normalize(entry.schema_in, data, opts.kind or "run")
  local main = entry.main
  if entry.kind == "worker" then
    main = function(inp, rt) return rt:call_agent(entry.worker.name, inp) end
  end
  local rt = core.frame_root(run, { name = entry.name })
  local ok, res = pcall(main, args or parts, rt)
  core.frame_close(rt)
  if not ok then error(res, 0) end
  return res
end

return M
