-- The shell toolset: one tool, `shell`, that runs a command line as argv -
-- never through /bin/sh - under allow-rules (features.md §7.3, made safe).
--
-- Configuration:
--   rules      list of { pattern = "git status", approval_required = false,
--              approval_required_if_args = { "-exec" }, read_only = true };
--              first match wins; a pattern matches when the command's argv
--              starts with its tokens; read_only checks the remaining words
--              against the program's argument rules (shell_args.lua)
--   default    { approval_required = true }: commands no rule matches are
--              allowed (asking by default); without it they are blocked
--   env_allow  names of further variables passed to commands
--   cwd        where commands run: the project root by default; "." is the
--              directory llmdo was started in; a relative path is resolved
--              against the project root
-- shell_readonly and shell_file_ops are preset rule lists.
--
-- The rules are checked by the approval gate and again when the command
-- runs. It runs in its cwd with a timeout (1-300 s, the whole
-- process group is killed), stdout and stderr capped at 50 KiB each, and an
-- environment of the variables in SAFE_ENV and env_allow only, never a
-- provider's key.
local llmdo = require "llmdo"
local proc = require "llmdo.core.proc"
local sys = require "llmdo.core.sys"
local process = require "llmdo.process"
local util = require "llmdo.util"
local args_rules = require "llmdo.toolsets.shell_args"

local M = {}

M.MAX_OUTPUT = 51200

-- A read-only rule: the program's options and operands are checked too.
local function ro(pattern) return { pattern = pattern, approval_required = false, read_only = true } end

M.presets = {
  readonly = { ro("wc"), ro("find"), ro("grep"), ro("head"), ro("tail"), ro("sort"), ro("uniq"), ro("cat"), ro("ls"),
    ro("git log"), ro("git diff"), ro("git show"), ro("git status") },
  file_ops = { ro("ls"), { pattern = "mv", approval_required = true } },
}

-- The variables a command gets from llmdo's environment, besides env_allow,
-- and the provider keys it never gets (lua/llmdo/process.lua).
M.SAFE_ENV = process.SAFE_ENV
local PROVIDER_KEYS = process.PROVIDER_KEYS

-- POSIX shell word splitting (Python's shlex.split): quotes, backslashes,
-- no expansion. Returns the words, or nil and the reason.
function M.split(s)
  local words, word, i, n, quoted = {}, nil, 1, #s, false
  while i <= n do
    local c = s:sub(i, i)
    if c == "'" then
      local j = s:find("'", i + 1, true)
      if not j then return nil, "No closing quotation" end
      word = (word or "") .. s:sub(i + 1, j - 1)
      quoted, i = true, j + 1
    elseif c == '"' then
      local buf, j = {}, i + 1
      while true do
        if j > n then return nil, "No closing quotation" end
        local d = s:sub(j, j)
        if d == '"' then break end
        if d == "\\" and j < n and s:sub(j + 1, j + 1):match('[\\"$`\n]') then
          buf[#buf + 1] = s:sub(j + 1, j + 1)
          j = j + 2
        else
          buf[#buf + 1] = d
          j = j + 1
        end
      end
      word = (word or "") .. table.concat(buf)
      quoted, i = true, j + 1
    elseif c == "\\" then
      if i == n then return nil, "No escaped character" end
      word = (word or "") .. s:sub(i + 1, i + 1)
      i = i + 2
    elseif c:match("%s") then
      if word or quoted then words[#words + 1] = word or "" end
      word, quoted = nil, false
      i = i + 1
    else
      word = (word or "") .. c
      i = i + 1
    end
  end
  if word or quoted then words[#words + 1] = word or "" end
  return words
end

local METACHARS = { "|", ">", "<", ";", "&", "`", "$(", "${", "\n", "\r" }

local function shown(c) return c == "\n" and "\\n" or c == "\r" and "\\r" or c end

-- The decision for a command line: "blocked", reason | "allowed",
-- needs_approval, argv. Metacharacters are refused even inside quotes.
function M.check(command, rules, default)
  local first, which
  for _, m in ipairs(METACHARS) do
    local at = command:find(m, 1, true)
    if at and (not first or at < first) then first, which = at, m end
  end
  if first then return "blocked", "Command contains blocked metacharacter '" .. shown(which) .. "'." end
  local argv, err = M.split(command)
  if not argv then return "blocked", "Cannot parse command: " .. err end
  if #argv == 0 then return "blocked", "Empty command" end
  for _, r in ipairs(rules) do
    local tokens = M.split(r.pattern) or { r.pattern }
    local hit = #tokens > 0 and #argv >= #tokens
    for i = 1, #tokens do
      if argv[i] ~= tokens[i] then hit = false end
    end
    if hit then
      local ask, run = r.approval_required ~= false, argv
      if r.read_only then
        local ok, why
        ok, why, run = args_rules.check(table.concat(tokens, " "), argv)
        if not ok then return "blocked", why end
        ask = ask or why
      end
      for _, a in ipairs(r.approval_required_if_args or {}) do
        for _, w in ipairs(argv) do
          if w == a then return "allowed", true, run end
        end
      end
      return "allowed", ask, run
    end
  end
  if default then return "allowed", default.approval_required ~= false, argv end
  return "blocked", "Command not in whitelist: " .. command
end

local RULE_KEYS = { pattern = true, approval_required = true, approval_required_if_args = true, read_only = true }

local function is_word_list(v)
  if type(v) ~= "table" or (next(v) and #v == 0) then return false end
  for j, a in pairs(v) do
    if math.type(j) ~= "integer" or type(a) ~= "string" then return false end
  end
  return true
end

local function validate_rule(r, at)
  if type(r) ~= "table" or type(r.pattern) ~= "string" or r.pattern == "" then
    return at .. ": expected {pattern: ..., approval_required: ..., approval_required_if_args: [...], read_only: ...}"
  end
  for rk in pairs(r) do
    if not RULE_KEYS[rk] then return at .. ": unknown key '" .. tostring(rk) .. "'" end
  end
  for _, b in ipairs { "approval_required", "read_only" } do
    if r[b] ~= nil and type(r[b]) ~= "boolean" then return at .. "." .. b .. ": expected true or false" end
  end
  if r.approval_required_if_args ~= nil and not is_word_list(r.approval_required_if_args) then
    return at .. ".approval_required_if_args: expected a list of words"
  end
  local words = table.concat(M.split(r.pattern) or { r.pattern }, " ")
  if r.read_only and not args_rules.specs[words] then
    return at .. ".read_only: no read-only argument rules for '" .. words .. "' (there are: "
      .. table.concat(util.sorted_keys(args_rules.specs), ", ") .. ")"
  end
end

local function validate_config(config)
  for k, v in pairs(config) do
    if k == "rules" then
      if type(v) ~= "table" then return "rules: expected a list" end
      for i, r in ipairs(v) do
        local err = validate_rule(r, "rules[" .. i .. "]")
        if err then return err end
      end
    elseif k == "default" then
      if type(v) ~= "table" or (v.approval_required ~= nil and type(v.approval_required) ~= "boolean") then
        return "default: expected {approval_required: true|false}"
      end
      for dk in pairs(v) do
        if dk ~= "approval_required" then return "default: unknown key '" .. tostring(dk) .. "'" end
      end
    elseif k == "cwd" then
      if type(v) ~= "string" or v == "" or v:find("\0", 1, true) then
        return "cwd: expected a directory (a path, or \".\" for where llmdo was started)"
      end
    elseif k == "env_allow" then
      if not is_word_list(v) then return "env_allow: expected a list of variable names" end
      for i, name in ipairs(v) do
        if not name:match("^[%a_][%w_]*$") then
          return "env_allow[" .. i .. "]: '" .. name .. "' is not a variable name"
        end
        for _, key in ipairs(PROVIDER_KEYS) do
          if name == key then
            return "env_allow[" .. i .. "]: " .. name .. " is a provider key; commands never get it"
          end
        end
      end
    else
      return "unknown option '" .. tostring(k) .. "' (options: rules, default, env_allow, cwd)"
    end
  end
end

local function truncated(text, cut)
  if cut then return text .. "\n... (output truncated)" end
  return text
end

-- Where commands run: the project root; cwd "." is the directory llmdo was
-- started in, another relative cwd is resolved against the project root.
local function work_dir(ctx)
  local cwd = ctx.config.cwd
  local dir = cwd == "." and (ctx.cwd or sys.cwd()) or cwd and util.abspath(cwd, ctx.project_root)
    or ctx.project_root
  if sys.stat(dir) ~= "directory" then
    llmdo.error("run", "shell: cwd '" .. (cwd or dir) .. "' is not a directory: " .. dir)
  end
  return dir
end

-- A program that could not be started is a result the model can act on:
-- 127 when it is not found, 126 when it cannot be run (as a shell says).
local function not_started(program, why, code)
  if code == "ENOENT" or code == "EACCES" then
    return { stdout = "", stderr = (code == "ENOENT" and "Command not found: " or "Permission denied: ") .. program,
      exit_code = code == "ENOENT" and 127 or 126, truncated = false }
  end
  llmdo.error("run", "cannot run " .. program .. ": " .. why)
end

-- Made once, not per call, so its JSON Schema is too.
local PARAMS = { command = "string", timeout = { type = "integer", default = 30, description = "seconds, max 300" } }

M.spec = llmdo.toolset {
  validate_config = validate_config,
  tool_names = { "shell" },
  factory = function(ctx)
    local cfg = ctx.config
    local preset = M.presets[cfg.preset or ""]
    local rules = preset or cfg.rules or {}
    local default = not preset and cfg.default or nil -- a preset's rules are the whole list
    local dir = work_dir(ctx)
    local env = process.env(cfg.env_allow, ctx.secret_vars, dir)
    return { tools = { shell = {
      description = "Execute a shell command. Shell metacharacters (|, >, <, ;, &, `, $()) are blocked.",
      params = PARAMS,
      approval = function(args)
        local verdict, a = M.check(args.command, rules, default)
        if verdict == "blocked" then return "blocked", a end
        return a and "required" or "pre_approved"
      end,
      describe = function(args)
        local c = args.command
        if #c > 80 then c = c:sub(1, 80) .. "..." end
        return "Execute: " .. c
      end,
      fn = function(args)
        local verdict, a, argv = M.check(args.command, rules, default) -- again, at execution
        if verdict == "blocked" then llmdo.error("permission", a) end
        local timeout = math.max(1, math.min(300, args.timeout or 30))
        local r, why, code = proc.spawn { argv = argv, cwd = dir, env = env, timeout_ms = timeout * 1000,
          max_output = M.MAX_OUTPUT }
        if not r then return not_started(argv[1], why, code) end
        local stderr = truncated(r.stderr, r.stderr_truncated)
        if r.timed_out then stderr = "Command timed out after " .. timeout .. " seconds" end
        return { stdout = truncated(r.stdout, r.stdout_truncated), stderr = stderr, exit_code = r.exit_code,
          truncated = r.truncated or false }
      end,
    } } }
  end,
}

return M
