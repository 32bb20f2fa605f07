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

-- JSON Schema for a parameter table (shorthand or full). Returns schema or nil, err.
function M.to_json_schema(params, path)
  path = path or "params"
  if params == nil then
    return { type = "object", properties = setmetatable({}, { __jsontype = "object" }),
      required = json.array() }
  end
  if type(params) ~= "table" then return nil, path .. ": expected a table" end
  if params.type == "object" then return params end
  local props, required = {}, {}
  local names = {}
  for k in pairs(params) do
    if type(k) ~= "string" then return nil, path .. ": field names must be strings" end
    names[#names + 1] = k
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local s, req, err = field_schema(params[name], path .. "." .. name)
    if not s then return nil, err end
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
