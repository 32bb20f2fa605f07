-- Subprocesses for llmdo's own Lua: the allow-listed environment every
-- child gets (the shell toolset, llmdo.exec), the project a child runs for,
-- and llmdo.exec itself (docs/lua-api.md#llmdoexec). The process work is
-- src/proc.c: argv only, its own process group, output bounded, killed on
-- timeout and on Ctrl-C.
local proc = require "llmdo.core.proc"
local sys = require "llmdo.core.sys"
local util = require "llmdo.util"
local V = require "llmdo.validate"

local M = {}

-- The variables a child gets from llmdo's environment (besides the shell
-- toolset's env_allow).
M.SAFE_ENV = { "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE",
  "LC_COLLATE", "LC_MESSAGES", "LC_MONETARY", "LC_NUMERIC", "LC_TIME", "LC_ADDRESS", "LC_IDENTIFICATION",
  "LC_MEASUREMENT", "LC_NAME", "LC_PAPER", "LC_TELEPHONE", "TERM", "COLORTERM", "NO_COLOR", "TZ", "TMPDIR",
  "COLUMNS", "LINES" }
-- The built-in providers' keys: never passed, whatever env_allow says.
M.PROVIDER_KEYS = { "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OLLAMA_API_KEY" }

-- The child's environment ({ "K=V", ... }): the variables of SAFE_ENV and
-- `allow` that llmdo has, never a provider's key (the built-in ones and
-- `secret_vars`, every project provider's api_key_env), and PWD = pwd.
function M.env(allow, secret_vars, pwd)
  local keep = {}
  for _, list in ipairs { M.SAFE_ENV, allow or {} } do
    for _, k in ipairs(list) do keep[k] = true end
  end
  for _, list in ipairs { M.PROVIDER_KEYS, secret_vars or {} } do
    for _, k in ipairs(list) do keep[k] = nil end
  end
  local env = {}
  for _, kv in ipairs(proc.environ()) do
    local k = kv:match("^([^=]*)=")
    if keep[k] and k ~= "PWD" then env[#env + 1] = kv end
  end
  env[#env + 1] = "PWD=" .. pwd
  return env
end

-- The projects whose runs are going on (runtime.run_entry enters and
-- leaves): llmdo.exec runs for the one project running, since a tool's fn
-- does not pass its ctx.
local running, last = {}, nil

function M.enter(project)
  running[project] = (running[project] or 0) + 1
  last = project
end

function M.leave(project)
  running[project] = running[project] - 1
  if running[project] == 0 then running[project] = nil end
end

-- The project llmdo.exec runs for: the only one running, else the last
-- one run (a global toolset's cleanup at exit), else none (false: a script
-- run by `llmdo lua`). Raises when runs of several projects overlap.
local function current_project()
  local only, n = nil, 0
  for p in pairs(running) do only, n = p, n + 1 end
  if n > 1 then
    util.fail("run", "llmdo.exec: runs of several projects are going on: give cwd (an absolute path) "
      .. "and env explicitly")
  end
  return only or last or false
end

local function no_nul(v, path)
  if v:find("\0", 1, true) then return path .. ": contains a NUL byte" end
end

local function strings(v, path)
  if type(v) ~= "table" or not V.is_list(v) or #v == 0 then
    return path .. ": expected a non-empty list of strings, got " .. util.describe(v)
  end
  for i, a in ipairs(v) do
    local err = V.string(a, path .. "[" .. i .. "]") or no_nul(a, path .. "[" .. i .. "]")
    if err then return err end
  end
  if v[1] == "" then return path .. "[1]: expected a program name, got an empty string" end
end

local function environment(v, path)
  local err = V.map(V.string)(v, path)
  if err then return err end
  for _, k in ipairs(util.sorted_keys(v)) do
    local at = V.key_path(path, k)
    if k == "" or k:find("=", 1, true) then return at .. ": not a variable name (empty, or holds '=')" end
    err = no_nul(k, at) or no_nul(v[k], at)
    if err then return err end
  end
end

local exec_shape = V.record({
  argv = strings,
  cwd = function(v, path) return V.nonempty_string(v, path) or no_nul(v, path) end,
  env = environment,
  stdin = V.string,
  timeout = V.number { min = 0.001, max = 604800 },
  max_output = V.integer { min = 0, max = 1024 * 1024 * 1024 },
}, { required = { "argv" } })

M.TIMEOUT = 60                -- seconds
M.MAX_OUTPUT = 1024 * 1024    -- bytes kept per stream
M.GRACE_MS = 2000             -- from SIGTERM to SIGKILL after a timeout

local function fail(msg, fields) util.fail("run", "llmdo.exec: " .. msg, fields) end

-- The directory a child runs in: `cwd` resolved against the root.
local function directory(cwd, root)
  local abs = cwd and util.abspath(cwd, root) or root
  local kind, _, missing = sys.stat(abs)
  if kind == "directory" then return abs end
  local shown = (cwd == nil or cwd == abs) and abs or (cwd .. " (resolved: " .. abs .. ")")
  if kind then fail("cwd is not a directory: " .. shown) end
  fail((missing and "cwd not found: " or "cwd cannot be reached: ") .. shown)
end

local function seconds(n) return math.type(n) == "integer" and tostring(n) or string.format("%g", n) end

-- llmdo.exec{ argv =, cwd =, env =, stdin =, timeout =, max_output = }
--   -> { status =, signal =, stdout =, stderr =, truncated = }
function M.exec(opts)
  if type(opts) ~= "table" then fail("expected a table {argv = {...}, ...}, got " .. util.describe(opts)) end
  local err = exec_shape(opts, "")
  if err then fail(err) end
  -- (an absolute cwd and an explicit env need no project)
  local project = (opts.env == nil or opts.cwd == nil or opts.cwd:sub(1, 1) ~= "/") and current_project()
  local cwd = directory(opts.cwd, project and project.root or sys.cwd())
  local env
  if opts.env then
    env = {}
    for _, k in ipairs(util.sorted_keys(opts.env)) do env[#env + 1] = k .. "=" .. opts.env[k] end
  else
    env = M.env(nil, project and project.secret_vars, cwd)
  end
  local timeout = opts.timeout or M.TIMEOUT
  local r, why = proc.spawn { what = "llmdo.exec", argv = opts.argv, cwd = cwd, env = env, stdin = opts.stdin,
    timeout_ms = math.max(1, math.ceil(timeout * 1000)), grace_ms = M.GRACE_MS,
    max_output = opts.max_output or M.MAX_OUTPUT }
  if not r then fail("cannot run '" .. opts.argv[1] .. "': " .. why) end
  if r.timed_out then
    fail("timed out after " .. seconds(timeout) .. " s: " .. opts.argv[1], { timed_out = true })
  end
  return {
    status = r.signal == 0 and r.status or nil,
    signal = r.signal ~= 0 and r.signal or nil,
    stdout = r.stdout,
    stderr = r.stderr,
    truncated = r.truncated,
  }
end

return M
