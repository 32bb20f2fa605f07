-- Strict shape validation for tables users write (project.lua, llmdo.toolset
-- arguments, ...). A shape is a function(value, path) that returns nil when
-- the value fits, or a message that starts with the key path of the first
-- offending value: "runtime.max_depht: unknown key".
local util = require "llmdo.util"

local V = {}

local function at(path, msg)
  if path == "" then return msg end
  return path .. ": " .. msg
end

local function key_path(path, k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then
    return path == "" and k or path .. "." .. k
  end
  return path .. "[" .. (type(k) == "string" and string.format("%q", k) or tostring(k)) .. "]"
end
V.key_path = key_path

local function expected(path, what, v)
  return at(path, "expected " .. what .. ", got " .. util.describe(v))
end

function V.string(v, path)
  if type(v) ~= "string" then return expected(path, "a string", v) end
end

function V.nonempty_string(v, path)
  if type(v) ~= "string" or not v:match("%S") then return expected(path, "a non-empty string", v) end
end

function V.boolean(v, path)
  if type(v) ~= "boolean" then return expected(path, "a boolean", v) end
end

function V.func(v, path)
  if type(v) ~= "function" then return expected(path, "a function", v) end
end

function V.table(v, path)
  if type(v) ~= "table" then return expected(path, "a table", v) end
end

function V.any() end

function V.integer(opts)
  opts = opts or {}
  local what = "an integer"
  if opts.min and opts.max then
    what = string.format("an integer from %d to %d", opts.min, opts.max)
  elseif opts.min then
    what = string.format("an integer >= %d", opts.min)
  end
  return function(v, path)
    if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v) then
      return expected(path, what, v)
    end
    if (opts.min and v < opts.min) or (opts.max and v > opts.max) then
      return at(path, "expected " .. what .. ", got " .. tostring(v))
    end
  end
end

function V.number(opts)
  opts = opts or {}
  return function(v, path)
    if type(v) ~= "number" then return expected(path, "a number", v) end
    local nan = v ~= v -- (0/0 passes every comparison below)
    if nan or (opts.min and v < opts.min) or (opts.max and v > opts.max) then
      local range = opts.max and (opts.min and string.format("from %s to %s", opts.min, opts.max)
        or "<= " .. opts.max) or opts.min and ">= " .. opts.min
      return at(path, string.format("expected a number%s, got %s", range and " " .. range or "", nan and "NaN" or v))
    end
  end
end

function V.enum(values)
  local set, shown = {}, {}
  for i, x in ipairs(values) do
    set[x] = true
    shown[i] = string.format("%q", x)
  end
  local what = "one of " .. table.concat(shown, ", ")
  return function(v, path)
    if not set[v] then
      if type(v) == "string" then return at(path, string.format("expected %s, got %q", what, v)) end
      return expected(path, what, v)
    end
  end
end

-- Is t a sequence 1..n (an empty table counts)?
local function is_list(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end
V.is_list = is_list

function V.list(item)
  return function(v, path)
    if type(v) ~= "table" or not is_list(v) then return expected(path, "a list", v) end
    for i, x in ipairs(v) do
      local err = item(x, path .. "[" .. i .. "]")
      if err then return err end
    end
  end
end

-- A table with string keys and values of one shape.
function V.map(value)
  return function(v, path)
    if type(v) ~= "table" then return expected(path, "a table", v) end
    for _, k in ipairs(util.sorted_keys(v)) do
      if type(k) ~= "string" then return at(key_path(path, k), "keys must be strings") end
      local err = value(v[k], key_path(path, k))
      if err then return err end
    end
  end
end

-- A table with exactly these fields; opts.required names the mandatory ones.
function V.record(fields, opts)
  opts = opts or {}
  return function(v, path)
    if type(v) ~= "table" then return expected(path, "a table", v) end
    for _, k in ipairs(util.sorted_keys(v)) do
      if fields[k] == nil then
        return at(key_path(path, k), "unknown key" .. require("llmdo.suggest").hint(k, util.sorted_keys(fields)))
      end
    end
    for _, k in ipairs(opts.required or {}) do
      if v[k] == nil then return at(key_path(path, k), "is required") end
    end
    for _, k in ipairs(util.sorted_keys(fields)) do
      if v[k] ~= nil then
        local err = fields[k](v[k], key_path(path, k))
        if err then return err end
      end
    end
  end
end

-- The first shape that fits; otherwise `what` describes the alternatives.
-- A table value is checked against the table shape so its message is precise.
function V.either(what, scalar, tbl)
  return function(v, path)
    if type(v) == "table" and tbl then return tbl(v, path) end
    if scalar and not scalar(v, path) then return nil end
    return expected(path, what, v)
  end
end

return V
