-- The commands behind the command line. main.c parses the flags and runs
-- M.main(opts) as the first task; what it returns is printed to stdout.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local sys = require "llmdo.core.sys"
local task = require "llmdo.core.task"
local term = require "llmdo.core.term"
local util = require "llmdo.util"
local link = require "llmdo.link"
local runtime = require "llmdo.runtime"

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

-- The run's approval mode: the flags override runtime.approval_mode.
-- Prompting needs a terminal; without one nothing runs (features §8).
local function approval_mode(opts, project)
  local mode = opts.approve_all and "approve_all" or opts.reject_all and "reject_all"
    or project.runtime.approval_mode
  if mode == "prompt" and (opts.headless or not term.has_terminal()) then
    util.fail("usage", "Headless mode cannot prompt for approvals; use --approve-all or --reject-all")
  end
  return mode
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
          log = true, no_log = opts.no_log or require("llmdo.journal").off_by_env(), journal = opts.journal,
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

function M.run(opts)
  local project = link.load(opts.project, { model = opts.model })
  local mode = approval_mode(opts, project)
  if opts.chat then
    check_keys(project)
    return chat(opts, project, mode)
  end
  local data
  if opts.resume and opts.prompt == nil and opts.input_json == nil then
    -- the same input as the run it resumes
    data = require("llmdo.journal").read(opts.resume, "--resume")[1].input
  end
  if data == nil then data = resolve_input(opts, project) end
  -- CLI input that lacks what the entry needs is a usage error (exit 2);
  -- normalise it here, before anything runs.
  require("llmdo.input").normalize(project.entry.schema_in, data, "input")
  check_keys(project)
  local verbose = opts.verbose or 0
  -- on a terminal, the entry worker's answer appears as it arrives
  local live = sys.isatty(1) and project.entry.kind == "worker" and verbose < 3
  if live then term.chat_stream(true) end
  local result, info = runtime.run_entry(project, data, {
    max_depth = opts.max_depth, approval_mode = mode, stream = verbose >= 1 or live,
    log = true, no_log = opts.no_log or require("llmdo.journal").off_by_env(), journal = opts.journal,
    replay = opts.replay, resume = opts.resume, argv = opts.argv,
  })
  if live and term.chat_stream(false) > 0 then -- shown already: end its line, print nothing more
    io.stdout:write("\n")
    result = nil
  end
  if verbose >= 1 and verbose <= 2 then
    local u = info.usage
    local cache = (u.cache_read > 0 or u.cache_write > 0)
        and string.format(" (cache: %d read, %d written)", u.cache_read, u.cache_write) or ""
    io.stderr:write(string.format("usage: %d requests, %d input / %d output tokens%s\n", u.requests,
      u.input_tokens, u.output_tokens, cache))
    if info.journal then io.stderr:write("journal: ", info.journal, "\n") end
  end
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
  util.fail(o.refused and "usage" or "run", o.message)
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

function M.main(opts)
  term.set_verbosity(opts.verbose or 0)
  local commands = { check = M.check, lua = M.script, tool = M.tool, logs = function(o)
    return require("llmdo.logs").command(o)
  end }
  local command = commands[opts.command] or M.run
  local ok, res, status = task.xpcall(command, E.msghandler, opts)
  runtime.close_session()
  if not ok then error(res, 0) end
  return res, status
end

return M
