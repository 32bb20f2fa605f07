-- Small helpers shared by the loader, the linker and the runtime.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local sys = require "llmdo.core.sys"

local M = {}

-- Tool names, worker names and instance names (which prefix tool names)
-- follow the one rule every provider accepts.
M.TOOL_NAME_RULE = "^[a-zA-Z0-9_-]{1,64}$"
function M.is_tool_name(name)
  return type(name) == "string" and #name <= 64 and name:match("^[%w_%-]+$") ~= nil
end

-- Raises an llmdo error of `kind` ("project", "input", "run", ...).
function M.fail(kind, msg, fields)
  error(E.new(kind, msg, fields), 0)
end

-- Lexically normalised absolute path: joins `p` to `base` unless absolute,
-- folds "." and "..". Symlinks are left alone (see realpath for those).
function M.abspath(p, base)
  if p:sub(1, 1) ~= "/" then p = (base or sys.cwd()) .. "/" .. p end
  local parts = {}
  for seg in p:gmatch("[^/]+") do
    if seg == ".." then
      if #parts > 0 then parts[#parts] = nil end
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return "/" .. table.concat(parts, "/")
end

function M.dirname(p)
  local d = p:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

function M.basename(p) return p:match("([^/]*)$") end

-- How a path is shown to the user: relative to the working directory when
-- it lies beneath it, absolute otherwise.
function M.display(abs)
  local cwd = sys.cwd()
  if cwd and abs:sub(1, #cwd + 1) == cwd .. "/" then return abs:sub(#cwd + 2) end
  return abs
end

-- An XDG base directory: $var when it is an absolute path, else
-- $HOME/fallback ("XDG_CONFIG_HOME", ".config"); nil without either.
function M.xdg_dir(var, fallback)
  local dir = os.getenv(var)
  if dir and dir:sub(1, 1) == "/" then return dir end
  local home = os.getenv("HOME")
  if not home or home == "" then return nil end
  return home .. "/" .. fallback
end

-- Sorted array of a table's keys.
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- "['a', 'b']": how lists of names appear in messages (as upstream).
function M.list(names)
  local quoted = {}
  for i, n in ipairs(names) do quoted[i] = "'" .. tostring(n) .. "'" end
  return "[" .. table.concat(quoted, ", ") .. "]"
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

-- A Lua value described for error messages: "a string", "an integer", ...
function M.describe(v)
  local t = type(v)
  if v == json.null then return "null" end
  if math.type(v) == "integer" then return "an integer" end
  if t == "number" then return "a number" end
  if t == "table" then return "a table" end
  if t == "nil" then return "nothing" end
  if t == "userdata" then return "a userdata" end
  return "a " .. t
end

function M.shallow_copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

function M.deep_copy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do c[M.deep_copy(k, seen)] = M.deep_copy(x, seen) end
  return setmetatable(c, getmetatable(v))
end

return M
