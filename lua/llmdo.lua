-- The llmdo module: what project Lua files use to declare toolsets,
-- schemas, entries and scripted models.
--
--   local llmdo = require "llmdo"
--   M.calc   = llmdo.toolset { factory = function(ctx) ... end }
--   M.Input  = llmdo.schema  { fields = { input = "string" }, prompt = ... }
--   M.main   = llmdo.entry   { main = function(input, rt) ... end }
--   M.script = llmdo.model(function(req) return { text = "hi" } end)
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local sys = require "llmdo.core.sys"
local task = require "llmdo.core.task"
local process = require "llmdo.process"
local V = require "llmdo.validate"
local schema = require "llmdo.schema"
local util = require "llmdo.util"

local M = {}

M.version = sys.version
M.null = json.null

M.json = {
  encode = function(v, opts) return json.encode(v, opts) end,
  decode = json.decode,
  array = json.array,
  null = json.null,
}

-- The metatables that mark declared objects; llmdo.kind tells them apart.
local kinds = {
  toolset = { __name = "llmdo.Toolset" },
  schema = { __name = "llmdo.Schema" },
  entry = { __name = "llmdo.Entry" },
  model = { __name = "llmdo.Model" },
}
for kind, mt in pairs(kinds) do
  mt.__index = { kind = kind }
end

function M.kind(v)
  local mt = getmetatable(v)
  for kind, kmt in pairs(kinds) do
    if mt == kmt then return kind end
  end
  return nil
end

-- Raises a project error at the caller of the declaring function.
local function declare_error(fn, err)
  local info = debug.getinfo(3, "Sl")
  local where = info and info.currentline and info.currentline > 0
      and (info.short_src .. ":" .. info.currentline .. ": ") or ""
  error(E.new("project", where .. "llmdo." .. fn .. ": " .. err), 0)
end

local tool_shape = V.record({
  description = V.string,
  params = V.table,
  approval = V.either('"pre_approved", "required" or a function', function(v, p)
    if type(v) == "function" then return nil end
    return V.enum { "pre_approved", "required" } (v, p)
  end),
  describe = V.func,
  fn = V.func,
  retries = V.integer { min = 0 },
  sequential = V.boolean,
  timeout = V.number { min = 0.001 }, -- seconds: past it, the model gets a tool error
  hidden = V.boolean, -- callable (and gated) but not offered to the model
}, { required = { "fn" } })
M._tool_shape = tool_shape

local toolset_shape = V.record({
  scope = V.enum { "call", "run", "global" },
  factory = V.func,
  tools = V.map(tool_shape),
  tool_names = V.either("a list of names or a function", V.func, V.list(V.string)),
  validate_config = V.func, -- function(config) -> nil | "what is wrong", checked at link time
  cleanup = V.func,
  description = V.string,
})

-- llmdo.toolset{ scope=, factory= } or llmdo.toolset{ tools= }.
-- The factory runs per scope instance (per worker call by default) and
-- returns { tools = {...}, cleanup = function() end }. validate_config
-- checks a named instance's configuration when the project is linked.
function M.toolset(def)
  if type(def) ~= "table" then declare_error("toolset", "expected a table argument") end
  local err = toolset_shape(def, "")
  if err then declare_error("toolset", err) end
  if (def.factory == nil) == (def.tools == nil) then
    declare_error("toolset", "give exactly one of 'factory' (per-call instances) or 'tools' (stateless)")
  end
  for name, tool in pairs(def.tools or {}) do -- static tools are checked now, naming the line
    if not util.is_tool_name(name) then
      declare_error("toolset", "tools." .. tostring(name) .. ": tool names must match " .. util.TOOL_NAME_RULE)
    end
    local _, perr = schema.to_json_schema(tool.params, "tools." .. name .. ".params")
    if perr then declare_error("toolset", perr) end
  end
  local spec = {}
  for k, v in pairs(def) do spec[k] = v end
  spec.scope = spec.scope or "call"
  return setmetatable(spec, kinds.toolset)
end

-- llmdo.schema{ fields = {...}, prompt = function(args) ... end }
-- A schema is also a constructor: Schema{...} validates and returns an instance.
function M.schema(def)
  if type(def) ~= "table" then declare_error("schema", "expected a table argument") end
  local s, err = schema.new(def)
  if not s then declare_error("schema", err) end
  return setmetatable(s, kinds.schema)
end
kinds.schema.__call = function(self, args) return schema.instance(self, args) end

local entry_shape = V.record({
  name = V.nonempty_string,
  description = V.string,
  main = V.func,
  schema_in = function(v, p)
    if M.kind(v) ~= "schema" then return p .. ": expected a schema made with llmdo.schema" end
  end,
}, { required = { "main" } })

-- llmdo.entry{ main = function(input, rt) ... end [, name=, schema_in=] }
function M.entry(def)
  if type(def) ~= "table" then declare_error("entry", "expected a table argument") end
  local err = entry_shape(def, "")
  if err then declare_error("entry", err) end
  local e = {}
  for k, v in pairs(def) do e[k] = v end
  return setmetatable(e, kinds.entry)
end

-- llmdo.model(function(req) ... end): a Lua function that plays the model.
function M.model(fn)
  if type(fn) ~= "function" then declare_error("model", "expected a function(req)") end
  return setmetatable({ fn = fn }, kinds.model)
end

-- Inside a tool's fn: send `msg` back to the model as a retry prompt.
function M.retry(msg)
  error(E.new("retry", tostring(msg)), 0)
end

-- Raise an llmdo error of a given kind ("run", "permission", ...).
function M.error(kind, msg)
  error(E.new(kind, msg), 0)
end

-- Suspends the calling task for `ms` milliseconds (other tasks run).
function M.sleep(ms) return task.sleep(ms) end

-- Non-blocking HTTP for tool authors: llmdo.http.request{...}, llmdo.http.get(url).
M.http = require "llmdo.http"

-- Runs a program (argv, no shell) and waits for it in the calling task:
-- llmdo.exec{ argv = {...}, cwd =, env =, stdin =, timeout =, max_output = }
-- -> { status =, signal =, stdout =, stderr =, truncated = } (lua/llmdo/process.lua).
function M.exec(opts) return process.exec(opts) end

-- Embedding: load and link a project, then run its entry from Lua.
--   local p = llmdo.load_project("examples/greeter")
--   local result, info = p:run("Hello", { history = previous.messages })
-- info.messages is the entry's history after the turn (for the next one),
-- info.usage the run's usage. opts of load_project: model (as --model).
local Project = {}
Project.__index = Project

function M.load_project(path, opts)
  local linked = require("llmdo.link").load(path, opts or {})
  return setmetatable({ linked = linked, root = linked.root, entry = linked.entry.name }, Project)
end

local run_opts = V.record {
  history = V.list(V.table),
  max_depth = V.integer { min = 1, max = 1000 },
  approval_mode = V.enum { "prompt", "approve_all", "reject_all" },
  stream = V.boolean,
  journal = V.string,
  replay = V.string,
  resume = V.string,
}

function Project:run(data, opts)
  if opts ~= nil then
    local err = run_opts(opts, "opts")
    if err then error(E.new("usage", "project:run: " .. err), 0) end
    if opts.replay and opts.resume then
      error(E.new("usage", "project:run: replay and resume cannot be combined"), 0)
    end
  end
  return require("llmdo.runtime").run_entry(self.linked, data, opts)
end

-- A file to send to the model with a prompt: llmdo.attachment("deck.pdf").
function M.attachment(path) return require("llmdo.input").attachment(path) end

return M
