-- Schemas: the shorthand users write for tool parameters and worker input,
-- turned into JSON Schema, plus schema instances.
--
-- Shorthand: a table of field = type, where type is "string", "number",
-- "integer", "boolean", "object", "array" or "any"; "T?" makes the field
-- optional and "T[]" an array of T. A field may instead be a JSON Schema
-- table; it is optional when it has `default` or `optional = true`.
-- A table whose `type` is "object" is taken as a complete JSON Schema.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local txt = require "llmdo.core.text"

local M = {}

local base_types = {
  string = true, number = true, integer = true, boolean = true, object = true, array = true, any = true,
}

local function field_schema(spec, path)
  if type(spec) == "string" then
    local t, optional = spec:gsub("%?$", "")
    local item = t:match("^(.-)%[%]$")
    local base = item or t
    if not base_types[base] then
      return nil, nil, string.format("%s: unknown type %q (expected string, number, integer, boolean, "
        .. "object, array or any, optionally with [] or ?)", path, spec)
    end
    local s = base == "any" and {} or { type = base }
    if item then s = { type = "array", items = s } end
    return s, optional == 0
  elseif type(spec) == "table" then
    local s, optional = {}, spec.default ~= nil
    for k, v in pairs(spec) do
      if k == "optional" then optional = optional or v == true else s[k] = v end
    end
    return s, not optional
  end
  return nil, nil, path .. ": expected a type name or a JSON Schema table"
end

-- Where subschemas sit, so that only real patterns are compiled (not, say,
-- an enum value that happens to have a "pattern" key).
local ONE_SCHEMA = { "additionalProperties", "propertyNames", "items", "additionalItems", "contains", "not",
  "if", "then", "else" }
local SCHEMA_LISTS = { "allOf", "anyOf", "oneOf", "prefixItems", "items" }
local SCHEMA_MAPS = { "properties", "patternProperties", "definitions", "$defs", "dependencies" }

local function sorted_string_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- The first pattern in schema s that does not compile, as "path: message".
local function bad_pattern(s, path, seen)
  if type(s) ~= "table" or seen[s] then return nil end
  seen[s] = true
  if type(s.pattern) == "string" then
    local err = txt.schema_check_pattern(s.pattern)
    if err then return path .. ".pattern: " .. err end
  end
  if type(s.patternProperties) == "table" then
    for _, k in ipairs(sorted_string_keys(s.patternProperties)) do
      local err = txt.schema_check_pattern(k)
      if err then return path .. ".patternProperties: " .. err end
    end
  end
  for _, key in ipairs(ONE_SCHEMA) do
    local err = bad_pattern(s[key], path .. "." .. key, seen)
    if err then return err end
  end
  for _, key in ipairs(SCHEMA_LISTS) do
    if type(s[key]) == "table" then
      for i, sub in ipairs(s[key]) do
        local err = bad_pattern(sub, string.format("%s.%s[%d]", path, key, i - 1), seen)
        if err then return err end
      end
    end
  end
  for _, key in ipairs(SCHEMA_MAPS) do
    if type(s[key]) == "table" then
      for _, name in ipairs(sorted_string_keys(s[key])) do
        local err = bad_pattern(s[key][name], path .. "." .. key .. "." .. name, seen)
        if err then return err end
      end
    end
  end
  return nil
end

-- JSON Schema for a parameter table (shorthand or full). Returns schema or
-- nil, err; a pattern that does not compile is an error here, at declaration.
function M.to_json_schema(params, path)
  path = path or "params"
  if params == nil then
    return { type = "object", properties = setmetatable({}, { __jsontype = "object" }),
      required = json.array() }
  end
  if type(params) ~= "table" then return nil, path .. ": expected a table" end
  if params.type == "object" then
    local err = bad_pattern(params, path, {})
    if err then return nil, err end
    return params
  end
  local props, required = {}, {}
  local names = {}
  for k in pairs(params) do
    if type(k) ~= "string" then return nil, path .. ": field names must be strings" end
    names[#names + 1] = k
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local s, req, err = field_schema(params[name], path .. "." .. name)
    err = err or bad_pattern(s, path .. "." .. name, {})
    if err then return nil, err end
    props[name] = s
    if req then required[#required + 1] = name end
  end
  return {
    type = "object",
    properties = setmetatable(props, { __jsontype = "object" }),
    required = json.array(required),
    additionalProperties = false,
  }
end

-- llmdo.schema{ fields = ..., prompt = ..., description = ... }
function M.new(def)
  for k in pairs(def) do
    if k ~= "fields" and k ~= "prompt" and k ~= "description" and k ~= "name" then
      return nil, tostring(k) .. ": unknown key"
    end
  end
  if type(def.fields) ~= "table" then return nil, "fields: expected a table of field types" end
  if def.prompt ~= nil and type(def.prompt) ~= "function" then
    return nil, "prompt: expected a function(args) returning the prompt parts"
  end
  local js, err = M.to_json_schema(def.fields, "fields")
  if not js then return nil, err end
  return { json = js, prompt = def.prompt, description = def.description, name = def.name }
end

local instance_marks = setmetatable({}, { __mode = "k" })

-- Validates args against the schema; returns the instance (args, marked).
-- A missing property that declares a default gets it (as pydantic does).
M.fill_defaults = txt.schema_fill_defaults -- the tool plane's, in place

-- Schema{...}: validates (defaults filled in) and marks the table as an
-- instance. A failure is a run error naming the field.
function M.instance(s, args)
  local name = s.name and (" for schema " .. s.name) or ""
  if type(args) ~= "table" then
    error(E.new("run", "Invalid input" .. name .. ": expected a table, got " .. type(args)), 2)
  end
  M.fill_defaults(s.json, args)
  local ok, err = M.validate(s.json, args)
  if not ok then error(E.new("run", "Invalid input" .. name .. ": " .. err), 2) end
  return M.mark(s, args)
end

-- Marks validated args as an instance of s.
function M.mark(s, args)
  instance_marks[args] = s
  return args
end

function M.schema_of(v)
  if type(v) ~= "table" then return nil end
  return instance_marks[v]
end

-- Validates a value against a JSON Schema. Returns true or false, message.
function M.validate(js, value)
  return txt.schema_validate(js, value)
end

return M
