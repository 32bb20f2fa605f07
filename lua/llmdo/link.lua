-- Linking: from a PROJECT argument to a linked project, with every check of
-- features.md §3.2 in its order. Each error names the file it is about.
local util = require "llmdo.util"
local project = require "llmdo.project"
local worker = require "llmdo.worker"
local models = require "llmdo.models"
local builtins = require "llmdo.builtins"

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
    local kind = require("llmdo.core.sys").stat(abs)
    if kind ~= "file" then bad("Schema file not found: " .. file .. " (resolved: " .. abs .. ")") end
    local loaded = project.load_lua(cache, require("llmdo.core.sys").realpath(abs) or abs)
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

-- Links the project named by `arg`. opts.model is --model.
function M.load(arg, opts)
  opts = opts or {}
  local loc = project.locate(arg)
  local manifest = loc.single_worker and single_worker_manifest(loc.single_worker)
      or project.load_manifest(loc.file)
  local display = manifest.display
  local root = loc.root
  local cache = {}
  project.add_root(root)

  -- Lua files first: the entry checks need their exports.
  local files = {}
  for _, rel in ipairs(manifest.lua) do
    local abs = project.resolve_listed(root, rel, "Lua", display)
    if not cache[abs] then files[#files + 1] = project.load_lua(cache, abs) end
  end
  local lua_toolsets, lua_models, entries = collect_exports(files, display)

  -- §3.2 step 2 and 3
  if #manifest.workers == 0 and #entries == 0 then
    fail("project", display .. ": At least one .worker file or llmdo.entry is required")
  end
  if #entries > 1 then
    local names = {}
    for i, e in ipairs(entries) do names[i] = e.name end
    fail("project", display .. ": Multiple llmdo.entry definitions found: " .. util.list(names)
      .. ". Only one entry is allowed.")
  end
  local lua_entry = entries[1]

  -- step 4: worker files, their models and schemas
  local workers, order = {}, {}
  local model_ctx = { providers = manifest.providers, models = lua_models }
  for _, rel in ipairs(manifest.workers) do
    local abs = loc.single_worker or project.resolve_listed(root, rel, "Worker", display)
    local def = worker.parse(abs)
    if workers[def.name] then
      fail("project", def.display .. ": Duplicate worker name: " .. def.name .. " (also in "
        .. workers[def.name].display .. ")")
    end
    if lua_entry and lua_entry.name == def.name then
      fail("project", def.display .. ": Worker name '" .. def.name .. "' conflicts with Lua entry (in "
        .. lua_entry.from .. ")")
    end
    local ok, err = pcall(function()
      local model, source = models.select(def, opts)
      def.model_spec = models.parse(model, def.name, source, model_ctx)
      def.model = model
    end)
    if not ok then -- the message names the worker; prefix its file
      if require("llmdo.core.error").is(err) then err.message = def.display .. ": " .. err.message end
      error(err, 0)
    end
    models.check_server_tools(def)
    for _, budget in ipairs { "max_requests", "max_tool_calls" } do -- a worker may only lower a budget
      local limit = manifest.runtime[budget]
      if def[budget] and limit and def[budget] > limit then
        fail("project", def.display .. ": " .. budget .. ": " .. def[budget] .. " is above runtime." .. budget
          .. " (" .. limit .. "); a worker can only lower its budgets")
      end
    end
    if def.schema_in_ref then def.schema_in = resolve_schema(def, cache, files) end
    workers[def.name] = def
    order[#order + 1] = def
  end

  -- step 5: exactly one entry
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

  -- step 6: one toolset name space
  local namespace = {}
  for name in pairs(builtins.toolsets) do namespace[name] = { kind = "builtin", name = name, from = "built-in" } end
  for _, name in ipairs(util.sorted_keys(lua_toolsets)) do
    local t = lua_toolsets[name]
    if namespace[name] then
      fail("project", t.from .. ": Duplicate toolset name: " .. name .. " (a built-in toolset has this name)")
    end
    namespace[name] = { kind = "lua", name = name, spec = t.spec, from = t.from }
  end
  for _, def in ipairs(order) do
    local other = namespace[def.name]
    if other then
      fail("project", def.display .. ": Duplicate toolset name: " .. def.name .. " (the worker and "
        .. (other.kind == "builtin" and "a built-in toolset" or ("a Lua toolset in " .. other.from)) .. ")")
    end
    namespace[def.name] = { kind = "worker", name = def.name, worker = def, from = def.display }
  end

  -- step 7: each worker's toolsets
  for _, def in ipairs(order) do
    for _, e in ipairs(def.toolsets) do
      local target = namespace[e.toolset]
      if not target then
        fail("project", def.display .. ": Unknown toolset '" .. e.toolset .. "' for worker '" .. def.name
          .. "'. Available: " .. util.list(util.sorted_keys(namespace)))
      end
      if e.instance and target.kind == "worker" then
        fail("project", def.display .. ": toolset instance '" .. e.name .. "' names worker '" .. target.name
          .. "'; workers take no configuration (list it as '- " .. target.name .. "')")
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

  -- step 8: the entry
  local entry
  if loc.single_worker then
    local def = order[1]
    entry = { kind = "worker", name = def.name, worker = def, schema_in = def.schema_in }
  elseif lua_entry then
    local e = lua_entry.def
    entry = { kind = "lua", name = lua_entry.name, main = e.main, schema_in = e.schema_in,
      description = e.description, from = lua_entry.from }
  elseif #marked == 1 then
    local def = workers[marked[1]]
    entry = { kind = "worker", name = def.name, worker = def, schema_in = def.schema_in }
  else
    fail("project", display .. ": No entry found. Mark one worker with entry: true or define one "
      .. "llmdo.entry in a Lua file.")
  end

  if manifest.entry.input ~= nil then -- the default input must fit the entry
    local ok, err = pcall(require("llmdo.input").normalize, entry.schema_in, manifest.entry.input, "project")
    if not ok then
      local msg = require("llmdo.core.error").is(err) and err.message or tostring(err)
      fail("project", display .. ": entry.input: " .. msg)
    end
  end

  local secret_vars = {}
  for _, p in pairs(manifest.providers) do
    if p.api_key_env then secret_vars[#secret_vars + 1] = p.api_key_env end
  end
  return {
    root = root,
    cwd = require("llmdo.core.sys").cwd(),
    secret_vars = secret_vars,
    display = display,
    runtime = manifest.runtime,
    entry_config = manifest.entry,
    providers = manifest.providers,
    models = lua_models,
    workers = workers,
    worker_list = order,
    entry = entry,
  }
end

return M
