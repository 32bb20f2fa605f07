-- Loading a project: locating it, evaluating project.lua with strict
-- validation, and loading Lua files once each. Linking is in llmdo.link.
local E = require "llmdo.core.error"
local sys = require "llmdo.core.sys"
local util = require "llmdo.util"
local V = require "llmdo.validate"
local llmdo = require "llmdo"

local M = {}
local fail = util.fail

-- Project Lua files run once per process and real path (see run_module).
local modules = {}   -- real path -> the value the file returned
local roots = {}     -- project roots `require` searches, in link order

local input_shape = V.either("a string or a table {input=, attachments=}", V.string, V.table)

local runtime_shape = V.record {
  approval_mode = V.enum { "prompt", "approve_all", "reject_all" },
  max_depth = V.integer { min = 1, max = 1000 },
  return_permission_errors = V.boolean,
  worker_calls_require_approval = V.boolean,
  worker_attachments_require_approval = V.boolean,
  worker_approval_overrides = V.map(V.record {
    calls_require_approval = V.boolean,
    attachments_require_approval = V.boolean,
  }),
  max_retries = V.integer { min = 0, max = 100 },
  max_requests = V.integer { min = 1 },
  max_tool_calls = V.integer { min = 1 },
  max_total_requests = V.integer { min = 1 },
  connect_timeout = V.number { min = 0.001 },
  idle_timeout = V.number { min = 1 },
  request_timeout = V.number { min = 1 },
  max_concurrent_requests = V.integer { min = 1, max = 100000 },
  max_cost = V.number { min = 0 },                   -- dollars, for the whole run (llmdo.prices)
  max_tokens_total = V.integer { min = 1 },           -- input + output tokens, for the whole run
  model_settings = require("llmdo.settings").shape,
  attachment_roots = V.list(V.nonempty_string), -- where a model's attachment paths may point
}

local provider_shape = V.record({
  api = V.enum { "openai", "anthropic" },
  base_url = V.nonempty_string,
  api_key_env = V.nonempty_string,
}, { required = { "api", "base_url" } })
M.provider_shape = provider_shape

local manifest_shape = V.record {
  version = V.integer(),
  workers = V.list(V.nonempty_string),
  lua = V.list(V.nonempty_string),
  entry = V.record { input = input_shape, allow_cli_input = V.boolean },
  runtime = runtime_shape,
  providers = V.map(provider_shape),
  mcp = V.map(V.table), -- MCP servers as toolsets, by name (checked by llmdo.mcp)
}

M.builtin_providers = { anthropic = true, openai = true, ollama = true, test = true, lua = true }

M.runtime_defaults = {
  approval_mode = "prompt",
  max_depth = 5,
  return_permission_errors = false,
  worker_calls_require_approval = false,
  worker_attachments_require_approval = false,
  max_retries = 4,
  max_requests = 50,
  connect_timeout = 10,
  idle_timeout = 120,
  request_timeout = 600,
  max_concurrent_requests = 64,
}

-- Fails unless path names a regular file; only a missing one is "not
-- found" (not_found: that message). `what` is "Project file", "Worker file"...
local function need_file(path, what, not_found, prefix)
  local kind, err, missing = sys.stat(path)
  if kind == "file" then return end
  prefix = prefix or ""
  if kind then
    local is = kind == "directory" and " is a directory: " or " is not a regular file: "
    fail("project", prefix .. what .. is .. path)
  end
  if missing then fail("project", prefix .. not_found) end
  fail("project", prefix .. "Cannot access " .. what:lower() .. " " .. path .. ": " .. err)
end

-- Where the project is: PROJECT may be a project.lua, a directory holding
-- one, or a single .worker file. Returns { file=, root=, single_worker= }.
function M.locate(arg)
  local abs = util.abspath(arg)
  local kind, err, missing = sys.stat(abs)
  if kind == "directory" then
    local file = abs .. "/project.lua"
    need_file(file, "Project file", "Project file not found: " .. file)
    return { file = file, root = abs }
  end
  if kind == nil and not missing then fail("project", "Cannot access " .. abs .. ": " .. err) end
  if kind == nil then
    if arg:match("%.worker$") then
      fail("project", "Worker file not found: " .. arg .. " (resolved: " .. abs .. ")")
    end
    fail("project", "Project file not found: " .. abs)
  end
  if abs:match("%.worker$") then
    return { root = util.dirname(abs), single_worker = abs }
  end
  if not abs:match("%.lua$") then
    fail("project", "Not a project: " .. arg .. " (expected a project.lua, a directory holding one, "
      .. "or a .worker file)")
  end
  return { file = abs, root = util.dirname(abs) }
end

-- Runs a Lua chunk from `path` in the standard environment; errors become
-- project errors that name the file. Returns the chunk's first result.
local function run_file(path, display)
  local text, rerr = util.read_file(path)
  if not text then fail("project", display .. ": cannot read: " .. tostring(rerr)) end
  local chunk, err = load(text, "@" .. display, "t")
  if not chunk then fail("project", tostring(err)) end
  local ok, res = pcall(chunk)
  if not ok then
    if E.is(res) then error(res, 0) end
    res = tostring(res)
    -- require's message lists every path tried, one per line; keep it one line
    local head = res:match("^(.-module '[^']*' not found):\n")
    if head then
      res = head .. " (looked beneath " .. table.concat(roots, ", ") .. " and in package.path/cpath)"
    end
    fail("project", res)
  end
  return res
end

-- Evaluates and validates project.lua. Returns the manifest with defaults.
function M.load_manifest(file)
  local display = util.display(file)
  local m = run_file(file, display)
  if type(m) ~= "table" then
    fail("project", display .. ": must return a table (got " .. util.describe(m) .. ")")
  end
  local err = manifest_shape(m, "")
  if err then fail("project", display .. ": " .. err) end
  if m.version ~= nil and m.version ~= 1 then
    fail("project", display .. ": Unsupported project version: " .. tostring(m.version)
      .. ". Only version 1 is supported.")
  end
  local workers, lua = m.workers or {}, m.lua or {}
  if #workers == 0 and #lua == 0 then
    fail("project", display .. ": At least one workers or lua entry is required")
  end
  for _, list in ipairs { { "workers", workers }, { "lua", lua } } do
    local seen = {}
    for _, p in ipairs(list[2]) do
      if seen[p] then fail("project", display .. ": " .. list[1] .. ": Duplicate file paths: " .. util.list { p }) end
      seen[p] = true
    end
  end
  for name in pairs(m.providers or {}) do
    if M.builtin_providers[name] then
      fail("project", display .. ": providers." .. name .. ": conflicts with the built-in provider '" .. name .. "'")
    end
    if not name:match("^[%w_.-]+$") then
      fail("project", display .. ": providers[" .. string.format("%q", name)
        .. "]: provider names may use letters, digits, '_', '.' and '-'")
    end
  end
  for _, name in ipairs(util.sorted_keys(m.mcp or {})) do
    if not util.is_tool_name(name) then
      fail("project", display .. ": mcp[" .. string.format("%q", name) .. "]: the name prefixes tool names and must "
        .. "match " .. util.TOOL_NAME_RULE)
    end
    local problem = require("llmdo.mcp").check_config(m.mcp[name])
    if problem then fail("project", display .. ": mcp." .. name .. ": " .. problem) end
  end
  local rt = util.shallow_copy(M.runtime_defaults)
  for k, v in pairs(m.runtime or {}) do rt[k] = v end
  rt.worker_approval_overrides = rt.worker_approval_overrides or {}
  local entry = { allow_cli_input = true }
  for k, v in pairs(m.entry or {}) do entry[k] = v end
  return {
    file = file, display = display,
    workers = workers, lua = lua, entry = entry, runtime = rt,
    runtime_set = m.runtime or {}, -- what project.lua itself says (precedence over the config)
    providers = m.providers or {},
    mcp = m.mcp or {},
  }
end

-- Resolves a file listed in project.lua against the project root.
-- `what` is "Worker" or "Lua"; a missing file is a project error.
function M.resolve_listed(root, rel, what, manifest_display)
  local abs = util.abspath(rel, root)
  need_file(abs, what .. " file", what .. " file not found: " .. rel .. " (resolved: " .. abs .. ")",
    manifest_display and (manifest_display .. ": "))
  return sys.realpath(abs) or abs
end

-- Project Lua files run once per process and real path, whether listed in
-- project.lua or reached by `require` from another file: a helper module
-- required by two files, or a listed file that another one requires, is one
-- table, so schemas and toolsets keep their identity.

local function run_module(abs)
  if modules[abs] == nil then
    local v = run_file(abs, util.display(abs))
    modules[abs] = v == nil and true or v
  end
  return modules[abs]
end

-- package.searchers entry: `require "a.b"` finds <root>/a/b.lua or
-- <root>/a/b/init.lua beneath the root of a linked project.
local function search_project(name)
  local rel = name:gsub("%.", "/")
  local tried = {}
  for _, root in ipairs(roots) do
    for _, f in ipairs { rel .. ".lua", rel .. "/init.lua" } do
      local abs = root .. "/" .. f
      if sys.stat(abs) == "file" then
        abs = sys.realpath(abs) or abs
        return function() return run_module(abs) end, abs
      end
      tried[#tried + 1] = "no file '" .. abs .. "'"
    end
  end
  return table.concat(tried, "\n\t")
end
table.insert(package.searchers, 2, search_project)

-- Lets `require` find modules beneath `root` (a project being linked).
function M.add_root(root)
  for _, r in ipairs(roots) do
    if r == root then return end
  end
  roots[#roots + 1] = root
end

-- Loads a Lua file once per real path. Returns { path=, display=, exports= }
-- where exports holds only the declared objects (toolsets, entries, ...).
function M.load_lua(cache, abs)
  if cache[abs] then return cache[abs] end
  local display = util.display(abs)
  local t = run_module(abs)
  if type(t) ~= "table" then
    fail("project", display .. ": must return a table of exports (got " .. util.describe(t) .. ")")
  end
  local loaded = { path = abs, display = display, toolsets = {}, entries = {}, schemas = {}, models = {} }
  for _, k in ipairs(util.sorted_keys(t)) do
    local v = t[k]
    local kind = type(k) == "string" and llmdo.kind(v)
    if kind then loaded[kind == "entry" and "entries" or kind .. "s"][k] = v end
    if kind == "schema" and v.name == nil then v.name = k end -- errors name it as exported
  end
  cache[abs] = loaded
  return loaded
end

return M
