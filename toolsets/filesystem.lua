-- The filesystem toolset: read_file, write_file, list_files, confined to a
-- base directory (features.md §7.2, made safe). Paths are resolved by the C
-- core beneath the base (openat2 RESOLVE_BENEATH); anything that would
-- leave it is a permission error: "Path escapes base directory: <path>",
-- and so is a hard-linked file (another of its names may be outside).
-- FIFOs, sockets and devices are refused without being opened; writes
-- replace the file atomically (src/fs.h).
--
-- Configuration (a named instance, or the built-in variants):
--   base_path       the base, relative to the project root (default: the root)
--   read_only       no write_file (a call to it is blocked)
--   read_approval   read_file and list_files need approval (default false)
--   write_approval  write_file needs approval (default true)
-- filesystem_cwd[_ro] use the working directory at link time as the base,
-- filesystem_project[_ro] the project root.
local llmdo = require "llmdo"
local json = require "llmdo.core.json"
local sys = require "llmdo.core.sys"
local txt = require "llmdo.core.text"
local cfs = require "llmdo.core.fs"
local util = require "llmdo.util"

local M = {}

M.READ_MAX = 10 * 1024 * 1024  -- bytes read_file reads at most
M.WRITE_MAX = 10 * 1024 * 1024 -- bytes write_file writes at most
M.LIST_MAX = 10000              -- files list_files walks at most

local options = { base_path = "string", read_only = "boolean", read_approval = "boolean", write_approval = "boolean" }

local function validate_config(config)
  for k, v in pairs(config) do
    if not options[k] then
      return "unknown option '" .. tostring(k) .. "' (options: base_path, read_only, read_approval, write_approval)"
    end
    if type(v) ~= options[k] then return k .. ": expected a " .. options[k] .. ", got " .. util.describe(v) end
  end
end

local function base_dir(ctx)
  local c = ctx.config
  if c.base_path then return util.abspath(c.base_path, ctx.project_root) end
  if c.base == "cwd" then return ctx.cwd or sys.cwd() end
  return ctx.project_root
end

-- A path as messages show it: control characters (a NUL, a newline) escaped.
local function shown(path)
  return (path:gsub("%c", function(c) return string.format("\\x%02x", c:byte()) end))
end

-- The first n bytes of s, less a UTF-8 sequence that the cut left incomplete.
local function cut(s, n)
  s = s:sub(1, n)
  local at = s:find("[\xC0-\xF7][\x80-\xBF]*$")
  if at then
    local lead = s:byte(at)
    if #s - at + 1 < (lead >= 0xF0 and 4 or lead >= 0xE0 and 3 or 2) then s = s:sub(1, at - 1) end
  end
  return s
end

local function escape(path) llmdo.error("permission", "Path escapes base directory: " .. shown(path)) end

-- Turns a failed cfs.* call into the tool's error.
local function failed(path, kind, msg)
  path = kind == "escape" and path or shown(path)
  if kind == "escape" then escape(path) end
  if kind == "too_long" then
    if #path > 60 then path = cut(path, 60) .. "..." end
    llmdo.retry("Path too long: " .. path .. " (" .. msg .. ")")
  end
  if kind == "hard_link" then
    llmdo.error("permission", "Refused: hard-linked file (link count " .. msg:match("%d+$") .. "): " .. path)
  end
  if kind == "not_found" then llmdo.retry("File not found: " .. path) end
  if kind == "not_file" then llmdo.retry("Not a file: " .. path) end
  if kind == "not_regular" then llmdo.retry("Not a regular file: " .. path .. " (" .. msg:match(": (.*)$") .. ")") end
  if kind == "not_dir" then llmdo.retry("Not a directory: " .. path) end
  if kind == "too_large" then llmdo.retry("File too large: " .. path .. " (the limit is 10 MiB)") end
  error("cannot access " .. path .. ": " .. tostring(msg), 0)
end

local function read_file(base, args)
  local path = args.path
  local data, kind, msg = cfs.read(base, path, M.READ_MAX)
  if not data then failed(path, kind, msg) end
  local total = utf8.len(data)
  if not total or data:find("\0", 1, true) then
    llmdo.retry("Not a UTF-8 text file: " .. path .. " (pass binary files as attachments instead)")
  end
  local offset, max = args.offset or 0, args.max_chars or 20000
  local text = data
  if offset > 0 then text = offset >= total and "" or data:sub(utf8.offset(data, offset + 1)) end
  local left = math.max(total - offset, 0)
  local truncated = left > max
  local content = truncated and text:sub(1, utf8.offset(text, max + 1) - 1) or text
  return { content = content, truncated = truncated, total_chars = total, offset = offset,
    chars_read = math.min(left, max) }
end

local function write_file(base, args)
  local ok, kind, msg = cfs.write(base, args.path, args.content, M.WRITE_MAX)
  if not ok then failed(args.path, kind, msg) end
  return "Written " .. (utf8.len(args.content) or #args.content) .. " characters to " .. args.path
end

-- Files beneath base/path whose relative names match pattern, sorted; a
-- missing directory is an empty list. Also rt:list_files. -> list | nil, kind, msg
function M.list(base, path, pattern, max)
  local names, kind, msg = cfs.list(base, path, max)
  if not names then
    if kind == "not_found" or kind == "not_dir" then return json.array() end
    return nil, kind, msg
  end
  local out = json.array()
  for _, n in ipairs(names) do
    if txt.glob_match(pattern, n, "p") then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

local function list_files(base, args)
  local path = args.path or "."
  local out, kind, msg = M.list(base, path, args.pattern or "**/*", M.LIST_MAX)
  if not out then failed(path, kind, msg) end
  return out
end

local READ_ONLY = "write_file is disabled for read-only filesystem"

-- Parameter tables live here, not in the factory, so their JSON Schema is
-- made once rather than for every worker call.
local READ_PARAMS = { path = "string", max_chars = { type = "integer", minimum = 1, default = 20000 },
  offset = { type = "integer", minimum = 0, default = 0 } }
local LIST_PARAMS = { path = { type = "string", default = "." }, pattern = { type = "string", default = "**/*" } }
local WRITE_PARAMS = { path = "string", content = "string" }

M.spec = llmdo.toolset {
  validate_config = validate_config,
  tool_names = function(config)
    if config.read_only then return { "read_file", "list_files" } end
    return { "read_file", "write_file", "list_files" }
  end,
  factory = function(ctx)
    local cfg = ctx.config
    local base = base_dir(ctx)
    if sys.stat(base) ~= "directory" then
      llmdo.error("run", "filesystem base directory not found: " .. base)
    end
    local read_needs = cfg.read_approval == true
    local write_needs = cfg.write_approval ~= false
    local read_approval = function() return read_needs and "required" or "pre_approved" end
    local tools = {
      read_file = {
        description = "Read a text file. Do not use on binary files - pass them as attachments instead.",
        params = READ_PARAMS,
        approval = read_approval,
        describe = function(a) return "Read from " .. a.path end,
        fn = function(args) return read_file(base, args) end,
      },
      list_files = {
        description = "List files in a directory matching a glob pattern.",
        params = LIST_PARAMS,
        approval = read_approval,
        describe = function(a) return "List files matching " .. (a.pattern or "**/*") .. " in " .. (a.path or ".") end,
        fn = function(args) return list_files(base, args) end,
      },
    }
    if cfg.read_only then -- not offered; a call anyway is blocked by the gate
      tools.write_file = {
        hidden = true, params = WRITE_PARAMS,
        approval = function() return "blocked", READ_ONLY end,
        fn = function() llmdo.error("permission", READ_ONLY) end,
      }
    else
      tools.write_file = {
        description = "Write a text file.",
        params = WRITE_PARAMS,
        approval = function() return write_needs and "required" or "pre_approved" end,
        describe = function(a) return "Write " .. (utf8.len(a.content) or #a.content) .. " chars to " .. a.path end,
        fn = function(args) return write_file(base, args) end,
      }
    end
    return { tools = tools }
  end,
}

return M
