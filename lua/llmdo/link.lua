-- Linking: from a PROJECT argument to a linked project, with every check of
-- features.md §3.2 in its order. Each error names the file it is about.
local E = require "llmdo.core.error"
local sys = require "llmdo.core.sys"
local util = require "llmdo.util"
local project = require "llmdo.project"
local worker = require "llmdo.worker"
local models = require "llmdo.models"
local builtins = require "llmdo.builtins"
local settings = require "llmdo.settings"

local M = {}
local fail = util.fail

local function single_worker_manifest(path)
  return {
    display = util.display(path),
    workers = { path },
    lua = {},
    entry = { allow_cli_input = true },
    runtime = (function()
      local rt = util.shallow_copy(project.runtime_defaults)
      rt.worker_approval_overrides = {}
      return rt
    end)(),
    providers = {},
    mcp = {},
  }
end

-- Collects the declared objects of every Lua file, refusing duplicates.
local function collect_exports(files, display)
  local toolsets, models_, entries = {}, {}, {}
  for _, f in ipairs(files) do
    for name, spec in pairs(f.toolsets) do
      if toolsets[name] then
        fail("project", display .. ": Duplicate toolset name: " .. name .. " (in " .. toolsets[name].from
          .. " and " .. f.display .. ")")
      end
      toolsets[name] = { spec = spec, from = f.display }
    end
    for name, m in pairs(f.models) do
      if models_[name] then
        fail("project", display .. ": Duplicate model name: " .. name .. " (in " .. models_[name].from
          .. " and " .. f.display .. ")")
      end
      models_[name] = { fn = m.fn, from = f.display }
    end
    for key, e in pairs(f.entries) do
      entries[#entries + 1] = { name = e.name or key, def = e, from = f.display }
    end
  end
  table.sort(entries, function(a, b) return a.name < b.name end)
  return toolsets, models_, entries
end

-- Resolves schema_in_ref: "file.lua:Name" (relative to the worker file) or
-- the bare name of a schema exported by a file in project.lua's lua list.
local function resolve_schema(def, cache, files)
  local ref = def.schema_in_ref
  local function bad(msg) fail("project", def.display .. ": " .. msg) end
  local file, name = ref:match("^(.-):([^:]*)$")
  if file then
    if not file:match("%S") or not name:match("%S") or not file:match("%.lua$") then
      bad("schema_in_ref must use 'file.lua:Name' syntax or name a schema exported by a Lua file (got '" .. ref .. "')")
    end
    local abs = util.abspath(file, util.dirname(def.file))
    local kind = sys.stat(abs)
    if kind ~= "file" then bad("Schema file not found: " .. file .. " (resolved: " .. abs .. ")") end
    local loaded = project.load_lua(cache, sys.realpath(abs) or abs)
    local s = loaded.schemas[name]
    if not s then
      local other = loaded.toolsets[name] or loaded.entries[name] or loaded.models[name]
      if other then bad("'" .. ref .. "' did not resolve to a schema made with llmdo.schema") end
      bad("Schema '" .. name .. "' not found in '" .. file .. "'")
    end
    return s
  end
  if not ref:match("^[%a_][%w_]*$") then
    bad("schema_in_ref must use 'file.lua:Name' syntax or name a schema exported by a Lua file (got '" .. ref .. "')")
  end
  local found, from
  for _, f in ipairs(files) do
    if f.schemas[ref] then
      if found then bad("schema_in_ref '" .. ref .. "' is ambiguous: exported by " .. from .. " and " .. f.display) end
      found, from = f.schemas[ref], f.display
    end
  end
  if not found then bad("Schema '" .. ref .. "' not found in the project's Lua files") end
  return found
end

-- The tool names a resolved toolset entry offers, or nil when only its
-- factory knows (then conflicts are checked when the call builds it).
-- Worked out once per entry: worker calls ask again for every instance.
function M.static_tool_names(entry)
  if entry.tool_names ~= nil then return entry.tool_names or nil end
  local ns = entry.target
  local names
  if ns.kind == "worker" then
    names = { ns.worker.name }
  else
    local spec, config = ns.spec, entry.config
    if ns.kind == "builtin" then spec, config = builtins.spec(ns.name, config) end
    if spec.tools then
      names = {}
      for _, n in ipairs(util.sorted_keys(spec.tools)) do
        if not spec.tools[n].hidden then names[#names + 1] = n end
      end
    elseif type(spec.tool_names) == "table" then
      names = spec.tool_names
    elseif type(spec.tool_names) == "function" then
      local ok, r = pcall(spec.tool_names, config or {})
      if not ok or type(r) ~= "table" then
        fail("project", ns.from .. ": toolset '" .. ns.name .. "': tool_names(config) failed: " .. tostring(r))
      end
      names = r
    end
  end
  local out = false
  if names then
    out = {}
    for i, n in ipairs(names) do out[i] = entry.prefix and (entry.prefix .. "_" .. n) or n end
  end
  entry.tool_names = out
  return out or nil
end

local function label(entry)
  if entry.instance then return entry.name .. " (" .. entry.target.name .. ")" end
  return entry.name
end

-- Refuses two toolsets of one worker that expose the same tool name.
function M.check_tool_conflicts(def)
  local owner = {}
  for _, e in ipairs(def.toolsets) do
    for _, tool in ipairs(M.static_tool_names(e) or {}) do
      if #tool > 64 then
        fail("project", def.display .. ": tool name '" .. tool .. "' (toolset '" .. label(e) .. "') is longer than "
          .. "64 characters, the limit at every provider; use a shorter instance name")
      end
      local other = owner[tool]
      if other then
        local hint
        if other.target.kind == "worker" or e.target.kind == "worker" then
          hint = "rename the worker or give the other toolset an instance name"
        else
          hint = "give them instance names, e.g. '- a: {toolset: " .. other.target.name
            .. "}' and '- b: {toolset: " .. e.target.name .. "}'"
        end
        fail("project", def.display .. ": toolsets '" .. label(other) .. "' and '" .. label(e)
          .. "' both provide tool '" .. tool .. "'; " .. hint)
      end
      owner[tool] = e
    end
  end
end

-- §3.2 steps 2 and 3: a project runs something, and has at most one entry.
local function check_entries(display, manifest, entries)
  if #manifest.workers == 0 and #entries == 0 then
    fail("project", display .. ": At least one .worker file or llmdo.entry is required")
  end
  if #entries > 1 then
    local names = {}
    for i, e in ipairs(entries) do names[i] = e.name end
    fail("project", display .. ": Multiple llmdo.entry definitions found: " .. util.list(names)
      .. ". Only one entry is allowed.")
  end
end

-- Resolves a worker's model; errors name the worker, and get its file.
local function resolve_model(def, opts, model_ctx)
  local ok, err = pcall(function()
    local model, source = models.select(def, opts)
    def.model_spec = models.parse(model, def.name, source, model_ctx)
    def.model = model
  end)
  if not ok then
    if E.is(err) then err.message = def.display .. ": " .. err.message end
    error(err, 0)
  end
end

-- A worker may only lower the run's budgets.
local function check_budgets(def, runtime)
  for _, budget in ipairs { "max_requests", "max_tool_calls" } do
    local limit = runtime[budget]
    if def[budget] and limit and def[budget] > limit then
      fail("project", def.display .. ": " .. budget .. ": " .. def[budget] .. " is above runtime." .. budget
        .. " (" .. limit .. "); a worker can only lower its budgets")
    end
  end
end

-- Step 4: the worker files, their models and schemas. Returns name ->
-- def and the defs in manifest order.
local function load_workers(ctx)
  local workers, order = {}, {}
  local model_ctx = { providers = ctx.manifest.providers, models = ctx.lua_models }
  for _, rel in ipairs(ctx.manifest.workers) do
    local abs = ctx.loc.single_worker or project.resolve_listed(ctx.root, rel, "Worker", ctx.display)
    local def = worker.parse(abs)
    if workers[def.name] then
      fail("project", def.display .. ": Duplicate worker name: " .. def.name .. " (also in "
        .. workers[def.name].display .. ")")
    end
    if ctx.lua_entry and ctx.lua_entry.name == def.name then
      fail("project", def.display .. ": Worker name '" .. def.name .. "' conflicts with Lua entry (in "
        .. ctx.lua_entry.from .. ")")
    end
    resolve_model(def, ctx.opts, model_ctx)
    models.check_server_tools(def)
    def.settings = settings.resolve(def, ctx.manifest.runtime.model_settings)
    check_budgets(def, ctx.manifest.runtime)
    if def.schema_in_ref then def.schema_in = resolve_schema(def, ctx.cache, ctx.files) end
    workers[def.name] = def
    order[#order + 1] = def
  end
  return workers, order
end

-- Step 5: the workers marked entry (sorted), at most one, and not beside
-- an llmdo.entry.
local function marked_entries(display, order, lua_entry)
  local marked = {}
  for _, def in ipairs(order) do
    if def.entry then marked[#marked + 1] = def.name end
  end
  table.sort(marked)
  if lua_entry and #marked > 0 then
    fail("project", display .. ": Entry conflict: found llmdo.entry '" .. lua_entry.name
      .. "' and entry worker(s) " .. util.list(marked) .. ".")
  end
  if #marked > 1 then
    fail("project", display .. ": Multiple workers marked entry: " .. util.list(marked)
      .. ". Only one entry worker is allowed.")
  end
  return marked
end

-- Step 6: one toolset name space for built-ins, project.lua's MCP servers,
-- Lua toolsets and workers.
local function toolset_namespace(lua_toolsets, order, manifest)
  local namespace = {}
  for name in pairs(builtins.toolsets) do namespace[name] = { kind = "builtin", name = name, from = "built-in" } end
  for _, name in ipairs(util.sorted_keys(manifest.mcp)) do
    if namespace[name] then
      fail("project", manifest.display .. ": mcp." .. name .. ": a built-in toolset has this name")
    end
    namespace[name] = { kind = "mcp", name = name, config = manifest.mcp[name], from = manifest.display }
  end
  for _, name in ipairs(util.sorted_keys(lua_toolsets)) do
    local t = lua_toolsets[name]
    if namespace[name] then
      fail("project", t.from .. ": Duplicate toolset name: " .. name .. " (" .. (namespace[name].kind == "mcp"
        and "an MCP server in " .. namespace[name].from or "a built-in toolset") .. " has this name)")
    end
    namespace[name] = { kind = "lua", name = name, spec = t.spec, from = t.from }
  end
  for _, def in ipairs(order) do
    local other = namespace[def.name]
    if other then
      fail("project", def.display .. ": Duplicate toolset name: " .. def.name .. " (the worker and "
        .. (other.kind == "builtin" and "a built-in toolset" or other.kind == "mcp"
          and ("an MCP server in " .. other.from) or ("a Lua toolset in " .. other.from)) .. ")")
    end
    namespace[def.name] = { kind = "worker", name = def.name, worker = def, from = def.display }
  end
  return namespace
end

-- Step 7: points each worker's toolset entries at their targets and checks
-- named instances' configuration and tool-name conflicts.
local function link_toolsets(def, namespace)
  for _, e in ipairs(def.toolsets) do
    local target = namespace[e.toolset]
    if not target then
      local names = util.sorted_keys(namespace)
      local near = require("llmdo.suggest").nearest(e.toolset, names)
      fail("project", def.display .. ": Unknown toolset '" .. e.toolset .. "' for worker '" .. def.name
        .. "'" .. (near and "; did you mean '" .. near .. "'?" or ".") .. " Available: " .. util.list(names))
    end
    if e.instance and target.kind == "worker" then
      fail("project", def.display .. ": toolset instance '" .. e.name .. "' names worker '" .. target.name
        .. "'; workers take no configuration (list it as '- " .. target.name .. "')")
    end
    if target.kind == "mcp" then -- an instance of the mcp toolset; its own options win
      local config = util.shallow_copy(target.config)
      for k, v in pairs(e.config or {}) do config[k] = v end
      e.config, e.instance, target = config, true, namespace.mcp
    elseif target.kind == "builtin" and builtins.toolsets[target.name].instance_only and not e.instance then
      fail("project", def.display .. ": toolset '" .. e.name .. "' needs an instance name and its server, e.g. "
        .. "'- gh: {toolset: mcp, command: [github-mcp-server, stdio]}', or a server in project.lua's mcp")
    end
    e.target = target
    e.prefix = e.instance and e.name or nil
    local spec = target.kind == "lua" and target.spec or target.kind == "builtin" and builtins.spec(target.name)
    if spec and spec.validate_config and e.config then
      local ok, problem = pcall(spec.validate_config, e.config)
      if not ok or problem then
        fail("project", def.display .. ": toolset '" .. e.name .. "' (" .. target.name .. "): "
          .. tostring(problem))
      end
    end
  end
  M.check_tool_conflicts(def)
end

-- Step 8: the entry, and the default input it must accept.
local function choose_entry(ctx, workers, order, marked)
  local entry
  if ctx.loc.single_worker then
    local def = order[1]
    entry = { kind = "worker", name = def.name, worker = def, schema_in = def.schema_in }
  elseif ctx.lua_entry then
    local e = ctx.lua_entry.def
    entry = { kind = "lua", name = ctx.lua_entry.name, main = e.main, schema_in = e.schema_in,
      description = e.description, from = ctx.lua_entry.from }
  elseif #marked == 1 then
    local def = workers[marked[1]]
    entry = { kind = "worker", name = def.name, worker = def, schema_in = def.schema_in }
  else
    fail("project", ctx.display .. ": No entry found. Mark one worker with entry: true or define one "
      .. "llmdo.entry in a Lua file.")
  end
  local default = ctx.manifest.entry.input
  if default ~= nil then
    local ok, err = pcall(require("llmdo.input").normalize, entry.schema_in, default, "project")
    if not ok then
      fail("project", ctx.display .. ": entry.input: " .. (E.is(err) and err.message or tostring(err)))
    end
  end
  return entry
end

-- Links the project named by `arg`, in the steps of features §3.2.
-- opts.model is --model.
function M.load(arg, opts)
  local loc = project.locate(arg)
  local manifest = loc.single_worker and single_worker_manifest(loc.single_worker)
      or project.load_manifest(loc.file)
  local ctx = { opts = opts or {}, loc = loc, manifest = manifest, display = manifest.display, root = loc.root,
    cache = {}, files = {} }
  project.add_root(ctx.root)
  -- Lua files first: the entry checks need their exports
  for _, rel in ipairs(manifest.lua) do
    local abs = project.resolve_listed(ctx.root, rel, "Lua", ctx.display)
    if not ctx.cache[abs] then ctx.files[#ctx.files + 1] = project.load_lua(ctx.cache, abs) end
  end
  local lua_toolsets, entries
  lua_toolsets, ctx.lua_models, entries = collect_exports(ctx.files, ctx.display)
  check_entries(ctx.display, manifest, entries)
  ctx.lua_entry = entries[1]
  local workers, order = load_workers(ctx)
  local marked = marked_entries(ctx.display, order, ctx.lua_entry)
  local namespace = toolset_namespace(lua_toolsets, order, manifest)
  for _, def in ipairs(order) do link_toolsets(def, namespace) end
  local entry = choose_entry(ctx, workers, order, marked)
  local secret_vars = {}
  for _, providers in ipairs { manifest.providers, require("llmdo.config").current().providers or {} } do
    for _, p in pairs(providers) do
      if p.api_key_env then secret_vars[#secret_vars + 1] = p.api_key_env end
    end
  end
  return {
    root = ctx.root,
    cwd = sys.cwd(),
    secret_vars = secret_vars,
    display = ctx.display,
    runtime = manifest.runtime,
    runtime_set = manifest.runtime_set or {},
    entry_config = manifest.entry,
    providers = manifest.providers,
    models = ctx.lua_models,
    workers = workers,
    worker_list = order,
    entry = entry,
  }
end

return M
