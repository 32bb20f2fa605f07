-- The commands behind the command line. main.c runs M.main(args) as the
-- first task; llmdo.args parses the arguments; what a command returns is
-- printed to stdout.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local sys = require "llmdo.core.sys"
local task = require "llmdo.core.task"
local term = require "llmdo.core.term"
local util = require "llmdo.util"
-- the runtime is loaded when a command needs it: help, version and
-- completion answer without it (M.main)
local link, runtime, config, prices

local M = {}

M.EXIT_TRUNCATED = 3 -- docs/cli.md

-- features.md §10: where the input comes from, and its errors (exit 2).
local function resolve_input(opts, project)
  local cli_given = opts.prompt ~= nil or opts.input_json ~= nil
  if cli_given and project.entry_config.allow_cli_input == false then
    util.fail("input", "CLI input not allowed by project (entry.allow_cli_input is false)")
  end
  if opts.prompt ~= nil and opts.input_json ~= nil then
    util.fail("input", "Cannot combine prompt argument and --input-json")
  end
  if opts.input_json ~= nil then
    local ok, v = pcall(json.decode, opts.input_json)
    if not ok then util.fail("input", "Invalid JSON in --input-json: " .. tostring(v):gsub("^.-: ", "")) end
    if type(v) ~= "table" or (#v > 0) or opts.input_json:match("^%s*%[") then
      util.fail("input", "--input-json must be a JSON object")
    end
    return v
  end
  if opts.prompt ~= nil then return opts.prompt end
  if project.entry_config.input ~= nil then return project.entry_config.input end
  local text, err = sys.read_stdin()
  if err then util.fail("input", err) end
  if text then
    text = text:match("^%s*(.-)%s*$")
    if text ~= "" then return text end
  end
  util.fail("input", "No input provided (use a prompt argument, --input-json, entry.input in project.lua, "
    .. "or standard input)")
end

-- Can anything in this project ever ask for approval? Not when no worker
-- has a toolset that could (no toolsets; other workers, when calling them
-- needs no approval; Lua toolsets whose every tool is pre-approved), and
-- the entry is a worker (a Lua entry may call tools itself).
local function may_ask(project)
  local rtc = project.runtime
  if project.entry.kind ~= "worker" or rtc.worker_calls_require_approval
      or rtc.worker_attachments_require_approval or next(rtc.worker_approval_overrides) then
    return true
  end
  for _, def in ipairs(project.worker_list) do
    for _, t in ipairs(def.toolsets) do
      local target = t.target
      if target.kind ~= "worker" then
        local tools = target.kind == "lua" and target.spec.tools
        if type(tools) ~= "table" then return true end
        for _, spec in pairs(tools) do
          if spec.approval ~= "pre_approved" then return true end
        end
      end
    end
  end
  return false
end

M.APPROVAL_MODES = { prompt = true, approve_all = true, reject_all = true }

-- The run's approval mode: a flag, else LLMDO_APPROVAL_MODE, else
-- runtime.approval_mode in project.lua, else the config file's, else
-- "prompt". Prompting needs a terminal; without one nothing runs
-- (features §8) unless nothing could ever ask (then nothing is asked:
-- any request would be refused).
local function approval_mode(opts, project)
  local env = os.getenv("LLMDO_APPROVAL_MODE")
  if env == "" then env = nil end
  if env and not M.APPROVAL_MODES[env] then
    util.fail("usage", "LLMDO_APPROVAL_MODE: expected prompt, approve_all or reject_all, got '" .. env .. "'"
      .. require("llmdo.suggest").hint(env, { "prompt", "approve_all", "reject_all" }))
  end
  local mode = opts.approve_all and "approve_all" or opts.reject_all and "reject_all" or env
    or project.runtime_set.approval_mode or config.current().approval_mode or project.runtime.approval_mode
  if mode == "prompt" and (opts.headless or not term.has_terminal()) then
    if not may_ask(project) then return "reject_all" end
    util.fail("usage", "Headless mode cannot prompt for approvals; use --approve-all or --reject-all")
  end
  return mode
end

-- Is this run journaled? --no-log, else LLMDO_NO_LOG (1: no, 0: yes),
-- else the config file's `log`, else yes.
local function no_log(opts)
  if opts.no_log then return true end
  local env = os.getenv("LLMDO_NO_LOG")
  if env ~= nil and env ~= "" then return require("llmdo.journal").off_by_env() end
  return config.current().log == false
end

-- Keys are checked before any request: a missing one names its variable.
local function check_keys(project)
  for _, def in ipairs(project.worker_list) do
    local missing = require("llmdo.models").missing_key(def)
    if missing then util.fail("usage", missing) end
  end
end

-- `llmdo run --chat`: turns read from the terminal with line editing, each
-- run as the entry with the previous turns' messages; Ctrl-C cancels the
-- turn in progress, Ctrl-D leaves. Approvals given for the session hold for
-- every turn.
local function chat(opts, project, mode)
  if not sys.isatty(0) or not sys.isatty(1) then
    util.fail("usage", "Chat mode requires a terminal (stdin and stdout must be a TTY)")
  end
  local history
  local first
  if opts.prompt ~= nil or opts.input_json ~= nil or project.entry_config.input ~= nil then
    first = resolve_input(opts, project)
  end
  io.stdout:write("llmdo chat: ", project.entry.name, " (Ctrl-D to leave, Ctrl-C to stop a reply)\n")
  while true do
    local data = first
    first = nil
    if data == nil then
      local line = term.readline("you> ")
      if line == nil then
        io.stdout:write("\n")
        return nil
      end
      if line:match("%S") then data = line end
    end
    if data ~= nil then
      term.chat_stream(true)
      local ok, result = task.turn(function()
        local r, i = runtime.run_entry(project, data, {
          max_depth = opts.max_depth, approval_mode = mode, stream = true, history = history, kind = "run",
          log = true, no_log = no_log(opts), journal = opts.journal,
          argv = opts.argv,
        })
        return { r, i }
      end)
      local streamed = term.chat_stream(false)
      if ok then
        local info
        result, info = result[1], result[2]
        history = info.messages
        if streamed == 0 and result ~= nil then
          io.stdout:write(type(result) == "table" and json.encode(result, "ps") or tostring(result))
        end
        io.stdout:write("\n")
      elseif E.is(result) and result.kind == "cancelled" then
        io.stdout:write("\n(stopped)\n")
      else
        io.stdout:write("\n")
        io.stderr:write("Error: ", term.escape(E.is(result) and result.message or tostring(result)), "\n")
      end
      io.stdout:flush()
    end
  end
end

-- The run's input, checked before anything runs: what the entry cannot
-- take is an input error (exit 2). A PROMPT or standard input given to an
-- entry with an input schema is the object {input = TEXT}, validated like
-- --input-json; a missing attachment is an input error too.
local function cli_input(opts, project)
  local input = require "llmdo.input"
  local data, from_text
  if opts.resume and opts.prompt == nil and opts.input_json == nil then
    -- the same input as the run it resumes
    data = require("llmdo.journal").read(opts.resume, "--resume")[1].input
  end
  local schema_in = project.entry.schema_in
  if data == nil then
    data = resolve_input(opts, project)
    from_text = type(data) == "string" and schema_in and (opts.prompt ~= nil or project.entry_config.input == nil)
  end
  if from_text then data = { input = data } end
  local ok, err, parts = pcall(input.normalize, schema_in, data, "input")
  if not ok then
    if from_text and E.is(err) then
      err.message = err.message .. " (a PROMPT or standard input is passed as {\"input\": TEXT}; give the "
        .. "other fields with --input-json)"
    end
    error(err, 0)
  end
  for _, p in ipairs(project.entry.kind == "worker" and parts or {}) do -- (a Lua entry decides for itself)
    if input.is_attachment(p) then
      local found, why = pcall(input.resolve_attachment, p, project.root)
      if not found then
        if E.is(why) then why.kind = "input" end
        error(why, 0)
      end
    end
  end
  return data
end

-- The -v summary: requests and tokens, then the cost when there is one.
local function print_usage(u)
  local cache = (u.cache_read > 0 or u.cache_write > 0)
      and string.format(" (cache: %d read, %d written)", u.cache_read, u.cache_write) or ""
  io.stderr:write(string.format("usage: %d requests, %d input / %d output tokens%s\n", u.requests,
    u.input_tokens, u.output_tokens, cache))
  if u.unpriced then
    io.stderr:write("cost: unknown (no price for ", table.concat(u.unpriced, ", "),
      "; add one under prices in the config file)\n")
  elseif u.cost and u.cost > 0 then
    io.stderr:write("cost: ", prices.format(u.cost), "\n")
  end
end

-- --output-json FILE: the run's outcome as one JSON object (docs/cli.md),
-- written whether the run succeeded or not.
local function write_output_json(f, rec)
  local u = rec.usage or {}
  local out = {
    status = rec.ok and "ok" or "error",
    exit = rec.ok and (rec.truncated and M.EXIT_TRUNCATED or 0) or E.status(rec.err), -- llmdo's exit status
    result = rec.result,
    stop_reason = rec.ok and (rec.truncated and "max_tokens" or "end_turn") or nil,
    usage = { requests = u.requests or 0, input_tokens = u.input_tokens or 0, output_tokens = u.output_tokens or 0,
      cache_read = u.cache_read or 0, cache_write = u.cache_write or 0 },
    cost = u.cost or json.null,
    unpriced = u.unpriced and json.array(u.unpriced) or nil,
    error = rec.err and { kind = E.is(rec.err) and rec.err.kind or "run",
      message = E.is(rec.err) and rec.err.message or tostring(rec.err) } or nil,
    journal = rec.journal,
  }
  f:write(json.encode(out, "ps"), "\n")
  f:close()
end

-- The --output-json file, opened before the run: a path that cannot be
-- written must not cost a whole (paid) run.
local function open_output_json(path)
  local f, err = io.open(path, "w")
  if not f then
    util.fail("usage", "--output-json: cannot write " .. path .. ": " .. tostring(err):gsub("^.-: ", ""))
  end
  return f
end

function M.run(opts)
  if opts.chat and (not sys.isatty(0) or not sys.isatty(1)) then -- before anything else can fail
    util.fail("usage", "Chat mode requires a terminal (stdin and stdout must be a TTY)")
  end
  local project = link.load(opts.project, { model = opts.model })
  local mode = approval_mode(opts, project)
  if opts.chat then
    check_keys(project)
    return chat(opts, project, mode)
  end
  local data = cli_input(opts, project)
  if not opts.replay then check_keys(project) end -- a replay sends nothing
  local out_file = opts.output_json and open_output_json(opts.output_json)
  local verbose = opts.verbose or 0
  -- on a terminal, the entry worker's answer appears as it arrives
  local live = sys.isatty(1) and project.entry.kind == "worker" and verbose < 3
  if live then term.chat_stream(true) end
  local report = {}
  local ok, result, info = task.xpcall(runtime.run_entry, E.msghandler, project, data, {
    max_depth = opts.max_depth, approval_mode = mode, stream = verbose >= 1 or live, report = report,
    log = true, no_log = no_log(opts), journal = opts.journal,
    replay = opts.replay, resume = opts.resume, argv = opts.argv,
  })
  local shown = live and term.chat_stream(false) > 0
  if shown then io.stdout:write("\n") end -- shown already: end its line, print nothing more
  if verbose >= 1 and verbose <= 2 and report.usage then
    print_usage(report.usage)
    if report.journal then io.stderr:write("journal: ", report.journal, "\n") end
  end
  if out_file then
    write_output_json(out_file, { ok = ok, result = ok and result or nil, err = not ok and result or nil,
      usage = report.usage, truncated = ok and info.truncated, journal = report.journal })
  end
  if not ok then error(result, 0) end
  if shown then result = nil end
  -- an answer cut at max_tokens is printed, but is no plain success
  return result, info.truncated and M.EXIT_TRUNCATED or nil
end

-- The worker whose tools `llmdo tool` and `check --tools` use: --worker, or
-- the entry worker.
local function pick_worker(opts, project)
  local name = opts.worker
  if not name then
    if project.entry.kind ~= "worker" then
      util.fail("usage", "--worker NAME is needed: the entry '" .. project.entry.name .. "' is not a worker")
    end
    name = project.entry.worker.name
  end
  if not project.workers[name] then
    util.fail("usage", "--worker: no worker '" .. name .. "'. Workers: "
      .. util.list(util.sorted_keys(project.workers)))
  end
  return name
end

-- `llmdo tool PROJECT TOOL`: one call through the tool plane with no model;
-- prints what the model would see. A call turned away before it ran
-- (unknown tool, arguments that do not fit) is a usage error (exit 2).
function M.tool(opts)
  local project = link.load(opts.project, { model = opts.model, model_optional = true })
  local mode = approval_mode(opts, project)
  local worker = pick_worker(opts, project)
  local args = {}
  if opts.args_json then
    local ok, v = pcall(json.decode, opts.args_json)
    if not ok or type(v) ~= "table" or opts.args_json:match("^%s*%[") then
      util.fail("usage", "--args must be a JSON object" .. (ok and "" or ": " .. tostring(v):gsub("^.-: ", "")))
    end
    args = v
  end
  local o = runtime.run_tool(project, worker, opts.tool, args, { approval_mode = mode })
  if o.kind == "ok" then return o.content end
  if o.error then error(o.error, 0) end
  util.fail(o.refused and "usage" or "run", runtime.tool_hint(o.message))
end

-- `llmdo check`: the linked project, one block per worker.
function M.check(opts)
  local project = link.load(opts.project, { model = opts.model })
  local mcp_toolset = require "llmdo.toolsets.mcp"
  if opts.tools then -- every tool's schema, by worker: factories run (and clean up)
    if not opts.connect then mcp_toolset.refuse_servers(project) end
    local out = {}
    for _, def in ipairs(project.worker_list) do out[def.name] = runtime.tool_list(project, def.name) end
    return out
  end
  local lines = {}
  local function add(s) lines[#lines + 1] = s end
  add("project: " .. project.display)
  local e = project.entry
  if e.kind == "worker" then
    add("entry:   " .. e.name .. " (worker)")
  else
    add("entry:   " .. e.name .. " (llmdo.entry in " .. e.from .. ")")
  end
  for _, def in ipairs(project.worker_list) do
    add("")
    add("worker " .. def.name .. (def.entry and "  [entry]" or ""))
    add("  file:     " .. def.display)
    add("  model:    " .. def.model)
    local ts, tools, pending = {}, {}, {}
    for _, t in ipairs(def.toolsets) do
      local kind = t.target.kind == "worker" and "worker" or t.target.kind == "builtin" and "built-in"
          or ("lua, " .. t.target.from)
      ts[#ts + 1] = (t.instance and (t.name .. " = " .. t.target.name) or t.name) .. " (" .. kind .. ")"
      local names = link.static_tool_names(t)
      if names then
        for _, n in ipairs(names) do tools[#tools + 1] = n end
      else
        pending[#pending + 1] = t.name
      end
    end
    add("  toolsets: " .. (#ts > 0 and table.concat(ts, ", ") or "(none)"))
    local shown = #tools > 0 and table.concat(tools, ", ") or "(none)"
    if #pending > 0 then
      shown = shown .. "; plus the tools " .. table.concat(pending, ", ") .. "'s factory returns"
    end
    add("  tools:    " .. shown)
    if def.schema_in then add("  input:    " .. def.schema_in_ref) end
    if #def.server_side_tools > 0 then
      local st = {}
      for i, s in ipairs(def.server_side_tools) do st[i] = s.tool_type end
      add("  server-side tools: " .. table.concat(st, ", "))
    end
  end
  if opts.connect then mcp_toolset.report(project, add) end
  return table.concat(lines, "\n")
end

-- `llmdo lua SCRIPT [ARGS...]`: runs a Lua file as a task, with `arg` set.
function M.script(opts)
  local chunk, err = loadfile(opts.script, "t")
  if not chunk then util.fail("usage", tostring(err)) end
  local args = { [0] = opts.script }
  for i, a in ipairs(opts.args) do args[i] = a end
  _G.arg = args
  return (chunk(table.unpack(opts.args))) -- one value: the exit status is not the script's to give here
end

-- `llmdo models`: the providers, the priced models, the aliases, and the
-- default model, with which keys are set.
function M.models(opts)
  local models = require "llmdo.models"
  local cfg = config.current()
  local providers = {}
  local function add(name, spec, note)
    local url, _, var, missing = models.endpoint(spec)
    local key = var and os.getenv(var)
    providers[#providers + 1] = { name = name, api = spec.api, url = url, key_env = var,
      key_set = key ~= nil and key ~= "", key_needed = missing, note = note }
  end
  add("anthropic", { provider = "anthropic", api = "anthropic" })
  add("openai", { provider = "openai", api = "openai" })
  add("ollama", { provider = "ollama", api = "openai" }, "a local server; no key needed")
  for _, name in ipairs(util.sorted_keys(cfg.providers or {})) do
    local p = cfg.providers[name]
    add(name, { provider = name, api = p.api, base_url = p.base_url, api_key_env = p.api_key_env }, "config file")
  end
  local priced = {}
  local table_ = util.shallow_copy(prices.table)
  for k, v in pairs(cfg.prices or {}) do table_[k] = v end
  for _, name in ipairs(util.sorted_keys(table_)) do
    local p = table_[name]
    priced[#priced + 1] = { model = name, input = p.input, output = p.output,
      cache_read = p.cache_read or p.input, cache_write = p.cache_write or p.input }
  end
  local default, source = opts.model, "--model"
  if not default then
    for _, var in ipairs { "LLMDO_MODEL", "LLM_DO_MODEL" } do
      local v = os.getenv(var)
      if not default and v and v ~= "" then default, source = v, var end
    end
  end
  if not default and cfg.model then default, source = cfg.model, "the config file" end
  if opts.json then
    local ps = {}
    for i, p in ipairs(providers) do
      ps[i] = { name = p.name, api = p.api, url = p.url, key_env = p.key_env or json.null, key_set = p.key_set }
    end
    ps[#ps + 1] = { name = "lua", api = json.null, url = json.null, key_env = json.null, key_set = false }
    ps[#ps + 1] = { name = "test", api = json.null, url = json.null, key_env = json.null, key_set = false }
    return { providers = json.array(ps), models = json.array(priced), aliases = cfg.aliases or {},
      default_model = default and { model = default, resolved = (models.expand(default)), source = source }
        or json.null }
  end
  local lines = { "providers:" }
  for _, p in ipairs(providers) do
    local key = p.key_env and (p.key_env .. (p.key_set and " set" or " not set")) or "no key"
    lines[#lines + 1] = string.format("  %-10s %-9s %-34s %s%s", p.name, p.api, p.url, key,
      p.note and " (" .. p.note .. ")" or "")
  end
  lines[#lines + 1] = "  lua:NAME   scripted models exported by a project's Lua files (llmdo.model)"
  lines[#lines + 1] = "  test       an offline model for trying things out"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "models with prices ($ per million tokens: input / output / cache read / cache write):"
  for _, m in ipairs(priced) do
    lines[#lines + 1] = string.format("  %-30s %6.3f / %6.3f / %6.3f / %6.3f", m.model, m.input, m.output,
      m.cache_read, m.cache_write)
  end
  lines[#lines + 1] = "  (any other provider:model works too; ollama, lua and test cost nothing)"
  lines[#lines + 1] = ""
  local aliases = util.sorted_keys(cfg.aliases or {})
  lines[#lines + 1] = "aliases:" .. (#aliases == 0 and " (none; set them in the config file)" or "")
  for _, a in ipairs(aliases) do lines[#lines + 1] = string.format("  %-12s %s", a, cfg.aliases[a]) end
  lines[#lines + 1] = ""
  if default then
    local resolved = models.expand(default)
    lines[#lines + 1] = "default model: " .. default .. (resolved ~= default and " (" .. resolved .. ")" or "")
      .. " from " .. source
  else
    lines[#lines + 1] = "default model: none (workers name theirs; or --model, LLMDO_MODEL, the config file)"
  end
  return table.concat(lines, "\n")
end

-- `llmdo config path|show`.
function M.config(opts)
  local c = config.load()
  if opts.action == "path" then
    if not c.path then util.fail("usage", "no config path: neither XDG_CONFIG_HOME nor HOME is set") end
    return c.path
  end
  if not c.found then return "# no config file at " .. tostring(c.path) .. " (llmdo uses its built-in defaults)" end
  return "# " .. c.path .. "\n" .. json.encode(c.values, "ps")
end

-- The commands that read the config file; the others never do.
local uses_config = { run = true, check = true, tool = true, models = true }

function M.main(argv)
  local opts = require("llmdo.args").parse(argv)
  opts.argv = table.move(argv, 0, #argv, 1, {}) -- the whole command line, for the journal
  if opts.command == "help" then return require("llmdo.args").help(opts.topic) end
  if opts.command == "version" then return "llmdo " .. sys.version .. " (" .. sys.lua_release .. ")" end
  if opts.command == "completion" then return require("llmdo.args").completion(opts.shell) end
  link, runtime = require "llmdo.link", require "llmdo.runtime"
  config, prices = require "llmdo.config", require "llmdo.prices"
  term.set_verbosity(opts.verbose or 0)
  sys.set_debug(opts.debug or false)
  if uses_config[opts.command] then config.load() end
  local commands = { check = M.check, lua = M.script, tool = M.tool, models = M.models, config = M.config,
    logs = function(o) return require("llmdo.logs").command(o) end }
  local command = commands[opts.command] or M.run
  local ok, res, status = task.xpcall(command, E.msghandler, opts)
  runtime.close_session()
  if not ok then error(res, 0) end
  return res, status
end

return M
