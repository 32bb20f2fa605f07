-- The shell toolset: one tool, `shell`, that runs a command line as argv -
-- never through /bin/sh - under allow-rules (features.md §7.3, made safe).
--
-- Configuration:
--   rules    list of { pattern = "git status", approval_required = false,
--            approval_required_if_args = { "-exec" } }; first match wins; a
--            pattern matches when the command's argv starts with its tokens
--   default  { approval_required = true }: commands no rule matches are
--            allowed (asking by default); without it they are blocked
-- shell_readonly and shell_file_ops are preset rule lists.
--
-- The rules are checked by the approval gate and again when the command
-- runs. It runs in the project root with a timeout (1-300 s, the whole
-- process group is killed), stdout and stderr capped at 50 KiB each, and an
-- environment without provider keys or any *_API_KEY, *_TOKEN, *_SECRET.
local llmdo = require "llmdo"
local proc = require "llmdo.core.proc"

local M = {}

M.MAX_OUTPUT = 51200

local function rule(pattern, approval, if_args)
  return { pattern = pattern, approval_required = approval, approval_required_if_args = if_args }
end

M.presets = {
  readonly = {
    rule("wc", false), rule("find", false, { "-exec", "-execdir", "-delete" }), rule("grep", false),
    rule("head", false), rule("tail", false), rule("sort", false), rule("uniq", false), rule("cat", false),
    rule("ls", false), rule("git log", false), rule("git diff", false), rule("git show", false),
    rule("git status", false),
  },
  file_ops = { rule("ls", false), rule("mv", true) },
}

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
      for _, a in ipairs(r.approval_required_if_args or {}) do
        for _, w in ipairs(argv) do
          if w == a then return "allowed", true, argv end
        end
      end
      return "allowed", r.approval_required ~= false, argv
    end
  end
  if default then return "allowed", default.approval_required ~= false, argv end
  return "blocked", "Command not in whitelist: " .. command
end

local function validate_config(config)
  for k, v in pairs(config) do
    if k == "rules" then
      if type(v) ~= "table" then return "rules: expected a list" end
      for i, r in ipairs(v) do
        if type(r) ~= "table" or type(r.pattern) ~= "string" or r.pattern == "" then
          return "rules[" .. i .. "]: expected {pattern: ..., approval_required: ..., approval_required_if_args: [...]}"
        end
        for rk in pairs(r) do
          if rk ~= "pattern" and rk ~= "approval_required" and rk ~= "approval_required_if_args" then
            return "rules[" .. i .. "]: unknown key '" .. tostring(rk) .. "'"
          end
        end
        if r.approval_required ~= nil and type(r.approval_required) ~= "boolean" then
          return "rules[" .. i .. "].approval_required: expected true or false"
        end
        local args = r.approval_required_if_args
        if args ~= nil then
          local ok = type(args) == "table"
          for j, a in pairs(ok and args or {}) do ok = ok and math.type(j) == "integer" and type(a) == "string" end
          if not ok or (next(args) and #args == 0) then
            return "rules[" .. i .. "].approval_required_if_args: expected a list of words"
          end
        end
      end
    elseif k == "default" then
      if type(v) ~= "table" or (v.approval_required ~= nil and type(v.approval_required) ~= "boolean") then
        return "default: expected {approval_required: true|false}"
      end
      for dk in pairs(v) do
        if dk ~= "approval_required" then return "default: unknown key '" .. tostring(dk) .. "'" end
      end
    else
      return "unknown option '" .. tostring(k) .. "' (options: rules, default)"
    end
  end
end

-- The child's environment: no provider keys, nothing that looks like a secret.
local function child_env(secret_vars)
  local drop = { ANTHROPIC_API_KEY = true, OPENAI_API_KEY = true, OLLAMA_API_KEY = true }
  for _, v in ipairs(secret_vars or {}) do drop[v] = true end
  local env = {}
  for _, kv in ipairs(proc.environ()) do
    local k = kv:match("^([^=]*)=")
    if k and not drop[k] and not k:match("_API_KEY$") and not k:match("_TOKEN$") and not k:match("_SECRET$") then
      env[#env + 1] = kv
    end
  end
  return env
end

local function truncated(text, cut)
  if cut then return text .. "\n... (output truncated)" end
  return text
end

-- Made once, not per call, so its JSON Schema is too.
local PARAMS = { command = "string", timeout = { type = "integer", default = 30, description = "seconds, max 300" } }

M.spec = llmdo.toolset {
  validate_config = validate_config,
  tool_names = { "shell" },
  factory = function(ctx)
    local cfg = ctx.config
    local rules = cfg.rules or M.presets[cfg.preset or ""] or {}
    local default = cfg.default
    local env = child_env(ctx.secret_vars)
    local root = ctx.project_root
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
        local r = proc.spawn { argv = argv, cwd = root, env = env, timeout_ms = timeout * 1000,
          max_output = M.MAX_OUTPUT }
        local stderr = truncated(r.stderr, r.stderr_truncated)
        if r.timed_out then stderr = "Command timed out after " .. timeout .. " seconds" end
        return { stdout = truncated(r.stdout, r.stdout_truncated), stderr = stderr, exit_code = r.exit_code,
          truncated = r.truncated or false }
      end,
    } } }
  end,
}

return M
