-- The command line: every command and option in two declarative tables,
-- parsed with lua-argparse (Debian's lua-argparse, compiled into the
-- binary), which also writes the help texts and the shell completions.
-- What argparse reports is turned into llmdo's one-line errors, with a
-- suggestion for a mistyped command or option (llmdo.suggest).
--
-- To add an option: describe it once in M.options, then list its key in
-- the `options` of each command that takes it. Its value reaches
-- llmdo.cli as opts[key].
local suggest = require "llmdo.suggest"
local util = require "llmdo.util"

local M = {}

-- key = { flags, VALUE (nil for a flag), help [, count = true] [, needs = what a missing value is] }
M.options = {
  input_json = { "--input-json", "JSON", "a JSON object passed whole to the entry (typed schema fields work)" },
  model = { "--model", "MODEL", "model (or alias) for workers that set none; beats LLMDO_MODEL and the config" },
  max_depth = { "--max-depth", "N", "maximum nesting of worker calls, 1-1000 (runtime.max_depth)" },
  approve_all = { "--approve-all", nil, "approve every tool call that is not blocked" },
  reject_all = { "--reject-all", nil, "deny every tool call that needs approval" },
  headless = { "--headless", nil, "never use the terminal for prompts" },
  chat = { "--chat", nil, "interactive multi-turn session on the terminal" },
  verbose = { "-v --verbose", nil, "-v events, tokens and cost; -vv streamed text; -vvv the JSON message log",
    count = true },
  debug = { "--debug", nil, "a traceback with every error" },
  output_json = { "--output-json", "FILE", "write the result, stop reason, usage and cost to FILE as JSON" },
  tools = { "--tools", nil, "print every worker's tools with their JSON Schemas (factories run)" },
  connect = { "--connect", nil, "start each MCP server once and list its tools and schemas" },
  worker = { "--worker", "NAME", "whose tools (default: the entry worker)" },
  args_json = { "--args", "JSON", "the tool's arguments, a JSON object" },
  json = { "--json", nil, "print JSON" },
  -- the run journal (docs/journal.md)
  no_log = { "--no-log", nil, "keep no journal of this run (also LLMDO_NO_LOG=1, log = false in the config)" },
  journal = { "--journal", "FILE", "write the run's journal to FILE (docs/journal.md)", needs = "a journal file" },
  replay = { "--replay", "FILE", "answer model requests from a journal; nothing is sent", needs = "a journal file" },
  resume = { "--resume", "FILE", "take answers and tool results from a journal up to its first difference, "
    .. "then go on live", needs = "a journal file" },
  -- llmdo logs
  logs_n = { "-n", "N", "how many runs (default 20)" },
  logs_project = { "--project", "TEXT", "only runs of projects whose path contains TEXT" },
  logs_status = { "--status", "STATUS", "only runs that ended so: ok, failed, cancelled, ...",
    needs = "a value (ok, failed, cancelled, ...)" },
}

local RUN_OPTIONS = { "input_json", "model", "max_depth", "approve_all", "reject_all", "headless", "chat",
  "verbose", "debug", "output_json", "no_log", "journal", "replay", "resume" }

local PROJECT = { "project", "PROJECT", "a project.lua, a directory holding one, or a .worker file" }

-- name, summary, usage, positionals { target, META, help, optional }, option keys, help epilog
M.commands = {
  { name = "run", summary = "link the project, run its entry with the input, print the result",
    usage = "llmdo run PROJECT [PROMPT] [options]",
    args = { PROJECT,
      { "prompt", "PROMPT", "the input text (else --input-json, entry.input, standard input)", optional = true } },
    options = RUN_OPTIONS,
    epilog = [[
PROJECT is a project.lua, a directory holding one, or a single .worker file.
The input is --input-json, else PROMPT, else entry.input in project.lua, else
standard input when it is not a terminal.

examples:
  llmdo run examples/greeter "Hello! I'm Ada."
  echo "Summarise this" | llmdo run ./proj --model fast -v
  llmdo run ./proj --input-json '{"input": "Review", "attachments": ["a.pdf"]}'
  llmdo run ./proj --chat]] },
  { name = "check", summary = "link the project and list each worker, its model and its tools",
    usage = "llmdo check PROJECT [--model MODEL] [--tools] [--connect]",
    args = { PROJECT },
    options = { "model", "tools", "connect", "debug" },
    epilog = [[
Without --connect, check starts no MCP server; --tools on a project with MCP
servers needs --connect.

examples:
  llmdo check ./proj
  llmdo check ./proj --tools     # every tool's JSON Schema, as the model sees it
  llmdo check ./proj --connect   # MCP servers started once: their tools and schemas]] },
  { name = "tool", summary = "call one tool through the tool plane with no model; print what the model would see",
    usage = "llmdo tool PROJECT TOOL [--worker NAME] [--args JSON] [options]",
    args = { PROJECT, { "tool", "TOOL", "the tool's name, as the model sees it" } },
    options = { "worker", "args_json", "model", "approve_all", "reject_all", "headless", "verbose", "debug" },
    epilog = [[
Validation, the approval gate and the toolset's cleanup run as in a real call.
Exit status 2 when the call is turned away before it runs, 1 when it fails.

examples:
  llmdo tool ./proj read_file --args '{"path": "README.md"}' --approve-all
  llmdo tool ./proj add --worker calc --args '{"a": 2, "b": 3}']] },
  { name = "logs", summary = "list the journals of recent runs; 'show ID' renders one as a transcript",
    usage = "llmdo logs [-n N] [--project TEXT] [--status STATUS] [--json] | llmdo logs show ID [--json]",
    args = { { "logs_action", "show", "show one run", optional = true },
      { "logs_id", "ID", "the run's id (from llmdo logs)", optional = true } },
    options = { "logs_n", "logs_project", "logs_status", "json" },
    epilog = [[
Journals are kept in $XDG_STATE_HOME/llmdo/runs (~/.local/state/llmdo/runs).

examples:
  llmdo logs -n 5 --status failed
  llmdo logs show 20260101-120000-1a2b
  llmdo logs show 20260101-120000-1a2b --json | jq .]] },
  { name = "models", summary = "the providers and models llmdo knows, with aliases and which keys are set",
    usage = "llmdo models [--json]", args = {}, options = { "json" },
    epilog = [[
examples:
  llmdo models
  llmdo models --json | jq '.aliases']] },
  { name = "config", summary = "where the config file is, or the settings it gives",
    usage = "llmdo config path|show", options = {},
    args = { { "action", "path|show", "path: where the file is; show: the settings it gives" } },
    epilog = [[
The config file is $XDG_CONFIG_HOME/llmdo/config.lua (~/.config/llmdo/config.lua);
LLMDO_CONFIG names another. See docs/cli.md for its keys.

examples:
  llmdo config path
  llmdo config show]] },
  { name = "completion", summary = "print the shell completion script for bash, zsh or fish",
    usage = "llmdo completion bash|zsh|fish", args = { { "shell", "SHELL", "bash, zsh or fish" } }, options = {},
    epilog = [[
examples:
  source <(llmdo completion bash)              # in ~/.bashrc
  llmdo completion zsh > ~/.zfunc/_llmdo
  llmdo completion fish > ~/.config/fish/completions/llmdo.fish]] },
  { name = "lua", summary = "run a Lua script with the llmdo module (for embedding and tests)",
    usage = "llmdo lua SCRIPT [ARGS...]", options = {},
    args = { { "script", "SCRIPT", "a Lua file; the arguments after it are the script's" } },
    epilog = [[
Everything after SCRIPT is the script's: arg[1], arg[2] ... as in the lua interpreter.

example:
  llmdo lua tests/lua/test_core.lua]] },
  { name = "help", summary = "help for a command", usage = "llmdo help [COMMAND]",
    args = { { "topic", "COMMAND", "the command to explain", optional = true } }, options = {} },
}

local choices = { config = { "path", "show" }, completion = { "bash", "zsh", "fish" } }

M.command_names = {}
local by_name = {}
for i, c in ipairs(M.commands) do
  M.command_names[i] = c.name
  by_name[c.name] = c
end

local function flags_of(key) return M.options[key][1] end

-- The parsers, built when first needed: the whole one (help, completions,
-- errors), or one with only the named command's options, which is all a
-- run needs (building every command costs half a millisecond at start-up).
-- help_seen notes a -h and the command it was given to.
local parsers, help_seen = {}, nil

local function add_help(p, name)
  p:add_help { action = function() help_seen = help_seen or name end }
end

local function build(only)
  local argparse = require "llmdo.argparse" -- (loaded when the tables alone cannot answer: see plain_parse)
  local p = argparse("llmdo", "llmdo runs LLM workers: prompt files with Lua toolsets.")
  p:usage("usage: llmdo COMMAND ...")
  add_help(p, "")
  p:flag("-V --version", "print llmdo's version")
  p:command_target("command")
  p:help_max_width(80)
  for _, c in ipairs(M.commands) do
    local cmd = p:command(c.name, c.summary)
    if only and c.name ~= only then goto next end
    cmd:usage("usage: " .. c.usage)
    add_help(cmd, c.name)
    if c.epilog then cmd:epilog(c.epilog) end
    for _, a in ipairs(c.args) do
      local arg = cmd:argument(a[2], a[3]):target(a[1])
      if a.optional then arg:args("?") end
      if choices[c.name] then arg:choices(choices[c.name]) end -- completions offer them
    end
    -- extra positionals are caught here, so the error can name them
    cmd:argument("extra"):args("*"):hidden(true)
    for _, key in ipairs(c.options) do
      local o = M.options[key]
      if o[2] then
        cmd:option(o[1], o[3]):argname(o[2]):target(key)
      else
        local flag = cmd:flag(o[1], o[3]):target(key)
        if o.count then flag:count("*") end
      end
    end
    ::next::
  end
  return p
end

-- The parser for the command `name` names (nil: all of them).
local function parser_for(name)
  local key = by_name[name] and name or "*"
  parsers[key] = parsers[key] or build(by_name[name] and name or nil)
  return parsers[key]
end

-- Options of `command` (with their aliases), and the commands an option
-- belongs to.
local function option_names(command)
  local names = { "-h", "--help" }
  for _, key in ipairs(command and command.options or {}) do
    for f in flags_of(key):gmatch("%S+") do names[#names + 1] = f end
  end
  if not command then names[#names + 1] = "-V"; names[#names + 1] = "--version" end
  return names
end

local function commands_with(flag)
  local out = {}
  for _, c in ipairs(M.commands) do
    for _, n in ipairs(option_names(c)) do
      if n == flag then out[#out + 1] = c.name; break end
    end
  end
  return out
end

local function usage_fail(msg) util.fail("usage", msg) end

local COMMAND_LIST = "run, check, tool, logs, lua, models, config, completion, help"

-- argparse's message, in llmdo's words, for the command being parsed.
local function explain(msg, command, argv)
  msg = msg:match("^[^\n]*") -- argparse's own tip is replaced by ours
  local name = command and command.name
  local opt = msg:match("^unknown option '(.-)'$")
  if opt then
    local elsewhere = commands_with(opt)
    if not command then
      return "unknown option '" .. opt .. "' (expected a command first; see llmdo --help)"
        .. suggest.hint(opt, option_names(nil))
    elseif #elsewhere > 0 then
      return "option '" .. opt .. "' does not apply to '" .. name .. "' (it is an option of "
        .. table.concat(elsewhere, ", ") .. ")"
    end
    return "unknown option '" .. opt .. "'" .. suggest.hint(opt, option_names(command))
      .. " (see llmdo " .. name .. " --help)"
  end
  local cmd = msg:match("^unknown command '(.-)'$")
  if cmd then
    local hint = suggest.hint(cmd, M.command_names)
    if hint ~= "" then return "unknown command '" .. cmd .. "'" .. hint end
    return "unknown command '" .. cmd .. "' (commands: " .. COMMAND_LIST .. "; see llmdo --help)"
  end
  local needs = msg:match("^option '(.-)' requires an argument$")
  if needs then
    for _, o in pairs(M.options) do
      for f in o[1]:gmatch("%S+") do
        if f == needs and o.needs then return "option '" .. needs .. "' needs " .. o.needs end
      end
    end
    return "option '" .. needs .. "' needs a value"
  end
  local novalue = msg:match("^option '(.-)' does not take arguments$")
  if novalue then return "option '" .. novalue .. "' takes no value" end
  local missing = msg:match("^missing argument '(.-)'$")
  if missing then
    local what = { -- by the argument's shown name
      PROJECT = "PROJECT (a project.lua, its directory, or a .worker file)",
      TOOL = "TOOL (the tool's name)",
      SHELL = "SHELL (bash, zsh or fish)",
      ["path|show"] = "path or show",
    }
    return name .. ": missing " .. (what[missing] or missing:upper())
  end
  if msg:match("^argument '.-' must be one of") and choices[name] then
    local value
    for i, a in ipairs(argv) do
      if a == name then value = argv[i + 1] end
    end
    local list = choices[name]
    return name .. ": unknown " .. (name == "config" and "action" or "shell") .. " '" .. tostring(value) .. "'"
      .. suggest.hint(value, list) .. " (expected " .. table.concat(list, ", "):gsub(", ([^,]*)$", " or %1") .. ")"
  end
  if msg == "a command is required" then
    return "missing command (" .. COMMAND_LIST .. "; see llmdo --help)"
  end
  return (name and name .. ": " or "") .. msg
end

-- The command a list of arguments names (argparse does not say which one
-- it was parsing when it failed).
local function command_in(argv)
  for _, a in ipairs(argv) do
    if by_name[a] then return by_name[a] end
    if a:sub(1, 1) ~= "-" then return nil end
  end
end

-- Checks what argparse cannot: value ranges and combinations.
-- The integer an option's text v spells (as `pattern` allows) from lo to
-- hi, or nil.
local function integer_in(v, lo, hi, pattern)
  local n = math.tointeger(tonumber(v))
  if n and n >= lo and n <= hi and v:match(pattern) then return n end
end

local function check(o)
  if o.extra and #o.extra > 0 then usage_fail("unexpected argument '" .. o.extra[1] .. "'") end
  o.extra = nil
  if o.model == "" then usage_fail("option '--model' needs a non-empty value") end
  if o.worker == "" then usage_fail("option '--worker' needs a worker name") end
  if o.max_depth ~= nil then
    o.max_depth = integer_in(o.max_depth, 1, 1000, "^%s*%d+%s*$")
      or usage_fail("--max-depth: expected an integer from 1 to 1000, got '" .. o.max_depth .. "'")
  end
  if o.approve_all and o.reject_all then usage_fail("--approve-all and --reject-all cannot be combined") end
  for _, key in ipairs { "journal", "replay", "resume" } do
    if o[key] == "" then usage_fail("option '--" .. key .. "' needs a journal file") end
  end
  if o.replay and o.resume then usage_fail("--replay and --resume cannot be combined") end
  if o.journal and o.chat then
    usage_fail("--journal cannot be combined with --chat (each turn is a run with its own journal)")
  end
  if (o.replay or o.resume) and o.chat then
    usage_fail((o.replay and "--replay" or "--resume") .. " cannot be combined with --chat")
  end
  if o.command == "logs" then
    if o.logs_action and o.logs_action ~= "show" then
      usage_fail("logs: unknown action '" .. o.logs_action .. "'" .. suggest.hint(o.logs_action, { "show" })
        .. " (expected 'show ID', or nothing to list runs)")
    end
    if o.logs_action and not o.logs_id then usage_fail("logs show: missing ID (see llmdo logs)") end
    if o.logs_n ~= nil then
      o.logs_n = integer_in(o.logs_n, 1, 100000, "^%d+$")
        or usage_fail("-n: expected a number of runs from 1 to 100000, got '" .. o.logs_n .. "'")
    end
    if o.logs_project == "" then usage_fail("option '--project' needs a value") end
    if o.logs_status == "" then usage_fail("option '--status' needs a value (ok, failed, cancelled, ...)") end
    local statuses = { "ok", "failed", "cancelled", "truncated", "incomplete" }
    local known = false
    for _, st in ipairs(statuses) do known = known or st == o.logs_status end
    if o.logs_status and not known then
      usage_fail("--status: unknown status '" .. o.logs_status .. "'" .. suggest.hint(o.logs_status, statuses)
        .. " (expected " .. table.concat(statuses, ", ") .. ")")
    end
  end
  o.verbose = math.min(o.verbose or 0, 3)
  return o
end

-- Parses the arguments after the program name. Returns the options table
-- ({command=, ...} with command "help" (and topic) or "version" for
-- those); raises a usage error with a one-line message.
-- The parse of a command line that the tables answer alone: a known
-- command, its own options (once each; a value given as --opt V or
-- --opt=V, not starting with '-'), -v counted, its positionals and no
-- more. Anything else (help, an error to explain, '--') returns nil, and
-- argparse parses it. Most runs start this way, without building
-- argparse's parser (a third of a cold start's work; tests/lua/test_cli.lua
-- checks that both parses agree).
local function plain_parse(argv)
  local c = by_name[argv[1]]
  if not c or c.name == "help" or choices[c.name] then return nil end -- (argparse checks choices)
  local flag_key = {}
  for _, key in ipairs(c.options) do
    for f in flags_of(key):gmatch("%S+") do flag_key[f] = key end
  end
  local res, npos, i = { command = c.name }, 0, 2
  while i <= #argv do
    local a = argv[i]
    if a:sub(1, 1) == "-" and a ~= "-" then
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local key = flag_key[name]
      if not key and a:match("^%-v+$") and flag_key["-v"] then
        res.verbose = (res.verbose or 0) + #a - 1
      elseif not key or name == "-h" or name == "--help" then
        return nil
      else
        local o = M.options[key]
        if o.count then
          if inline then return nil end
          res[key] = (res[key] or 0) + 1
        elseif res[key] ~= nil then
          return nil -- given twice: argparse says what is wrong
        elseif o[2] then
          local v = inline
          if not v then
            i = i + 1
            v = argv[i]
          end
          if v == nil or v:sub(1, 1) == "-" then return nil end
          res[key] = v
        else
          if inline then return nil end
          res[key] = true
        end
      end
    else
      npos = npos + 1
      local spec = c.args[npos]
      if not spec then return nil end
      res[spec[1]] = a
    end
    i = i + 1
  end
  for j = npos + 1, #c.args do
    if not c.args[j].optional then return nil end
  end
  return res
end

function M.parse(argv, slow)
  if not slow and argv[1] ~= "lua" and argv[1] ~= "version" then
    local res = plain_parse(argv)
    if res then return check(res) end
  end
  return M.parse_argparse(argv)
end

function M.parse_argparse(argv)
  if #argv == 0 then usage_fail("missing command (" .. COMMAND_LIST .. "; see llmdo --help)") end
  -- llmdo lua SCRIPT ARGS...: everything after SCRIPT is the script's
  if argv[1] == "lua" and argv[2] and argv[2] ~= "-h" and argv[2] ~= "--help" then
    return { command = "lua", script = argv[2], args = table.move(argv, 3, #argv, 1, {}), verbose = 0 }
  end
  if argv[1] == "version" then return { command = "version" } end
  help_seen = nil
  local ok, res = parser_for(argv[1]):pparse(argv)
  if help_seen then return { command = "help", topic = help_seen ~= "" and help_seen or nil } end
  if not ok then
    if argv[1] == "-V" or argv[1] == "--version" then return { command = "version" } end
    usage_fail(explain(res, command_in(argv), argv))
  end
  if res.version then return { command = "version" } end
  if res.command == "help" then
    if res.topic and not by_name[res.topic] then
      usage_fail("help: unknown command '" .. res.topic .. "'" .. suggest.hint(res.topic, M.command_names))
    end
    return { command = "help", topic = res.topic }
  end
  if res[res.command] == true then res[res.command] = nil end -- argparse's command flag (not `tool`'s TOOL)
  return check(res)
end

-- The top-level help text.
function M.overview()
  local lines = {
    "usage: llmdo run PROJECT [PROMPT] [options]",
    "       llmdo check PROJECT [--model MODEL] [--tools] [--connect]",
    "       llmdo tool PROJECT TOOL [--worker NAME] [--args JSON] [options]",
    "       llmdo logs [-n N] [--project TEXT] [--status STATUS] [--json] | logs show ID",
    "       llmdo models | config path|show | completion bash|zsh|fish",
    "       llmdo lua SCRIPT [ARGS...]",
    "       llmdo --help | -V, --version | llmdo COMMAND --help",
    "",
    "PROJECT is a project.lua, a directory holding one, or a single .worker file.",
    "",
    "commands:",
  }
  for _, c in ipairs(M.commands) do
    lines[#lines + 1] = string.format("  %-11s %s", c.name, c.summary)
  end
  local rest = {
    "",
    "run options (llmdo run --help for all):",
  }
  for _, l in ipairs(rest) do lines[#lines + 1] = l end
  for _, key in ipairs(RUN_OPTIONS) do
    local o = M.options[key]
    local f = key == "verbose" and "-v, -vv, -vvv" or o[1] .. (o[2] and " " .. o[2] or "")
    lines[#lines + 1] = string.format("  %-19s %s", f, o[3])
  end
  local tail = {
    "",
    "Input precedence: --input-json, then PROMPT, then entry.input in project.lua,",
    "then standard input when it is not a terminal.",
    "",
    "Settings: a flag beats the environment, which beats project.lua, which beats",
    "the config file ($XDG_CONFIG_HOME/llmdo/config.lua; llmdo config path).",
    "",
    "environment: LLMDO_MODEL (or LLM_DO_MODEL) is the model for workers without one;",
    "LLMDO_APPROVAL_MODE the approval mode; LLMDO_CONFIG another config file;",
    "ANTHROPIC_API_KEY, OPENAI_API_KEY and the *_BASE_URL variables reach providers.",
    "",
    "Journals are kept in $XDG_STATE_HOME/llmdo/runs (~/.local/state/llmdo/runs).",
    "",
    "exit status: 0 success, 1 the run failed, 2 usage, project or input error,",
    "3 an answer cut at max_tokens, 75 a transient model failure (retry later),",
    "130 interrupted. Manual: man llmdo.",
  }
  for _, l in ipairs(tail) do lines[#lines + 1] = l end
  return table.concat(lines, "\n")
end

-- Help for `topic` (a command name), or the overview.
function M.help(topic)
  if not topic then return M.overview() end
  for i, name in ipairs(M.command_names) do
    if name == topic then return parser_for(topic)._commands[i]:get_help() end
  end
end

-- The completion script for `shell`.
function M.completion(shell)
  local parser = parser_for(nil)
  local get = { bash = parser.get_bash_complete, zsh = parser.get_zsh_complete, fish = parser.get_fish_complete }
  return get[shell](parser)
end

return M
