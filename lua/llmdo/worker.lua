-- .worker files: YAML frontmatter (through libyaml) and instructions.
-- Error texts follow the reference (features.md §2), prefixed with the file.
local txt = require "llmdo.core.text"
local util = require "llmdo.util"

local M = {}


M.fields = {
  "name", "description", "entry", "model", "compatible_models", "schema_in_ref", "toolsets",
  "server_side_tools", "max_requests", "max_tool_calls", "model_settings",
}
local known = {}
for _, f in ipairs(M.fields) do known[f] = true end

M.server_tool_types = { "web_search", "web_fetch", "code_execution", "image_generation" }
local server_tool_set = {}
for _, t in ipairs(M.server_tool_types) do server_tool_set[t] = true end

local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

local function is_mapping(v) return type(v) == "table" and (next(v) == nil or not is_list(v)) end

M.valid_name = util.is_tool_name

-- Parses one toolsets entry: "name" or { inst = { toolset = X, ...config } }.
-- Returns { name = <as listed>, toolset = <referenced>, config = {...}|nil }.
local function parse_toolset_entry(item, fail)
  if type(item) == "string" then
    if not item:match("%S") then fail("Invalid toolset entry: expected non-empty string") end
    return { name = item, toolset = item }
  end
  if not is_mapping(item) then fail("Invalid toolset entry: expected non-empty string") end
  local inst, body = next(item)
  if inst == nil or next(item, inst) ~= nil then
    fail("Invalid toolset entry: a named instance is a mapping with one key, "
      .. "like 'src: {toolset: filesystem, base_path: ./src}'")
  end
  if not M.valid_name(inst) then
    fail("Invalid toolset instance name '" .. tostring(inst) .. "': must match " .. util.TOOL_NAME_RULE)
  end
  if not is_mapping(body) or type(body.toolset) ~= "string" or not body.toolset:match("%S") then
    fail("Invalid toolset entry '" .. inst .. "': expected {toolset: NAME, ...configuration}")
  end
  local config = {}
  for k, v in pairs(body) do
    if k ~= "toolset" then config[k] = v end
  end
  return { name = inst, toolset = body.toolset, config = config, instance = true }
end

-- Parses a worker file. Returns the worker definition (unlinked).
-- The frontmatter of a worker file as a mapping, and its body.
local function read(abs, fail)
  local text, err = util.read_file(abs)
  if not text then fail("cannot read: " .. tostring(err)) end
  local yaml, body, line = txt.frontmatter(text)
  if not yaml then
    if body == "unclosed" then fail("Invalid worker file format: frontmatter is not closed by a '---' line") end
    fail("Invalid worker file format: missing frontmatter")
  end
  local ok, fm = pcall(txt.yaml_load, yaml, line)
  if not ok then fail("Invalid YAML frontmatter: " .. tostring(fm)) end
  if not is_mapping(fm) or next(fm) == nil then fail("Invalid worker file format: missing frontmatter") end
  for _, k in ipairs(util.sorted_keys(fm)) do
    if not known[k] then
      fail("Unknown field '" .. tostring(k) .. "'" .. require("llmdo.suggest").hint(k, M.fields)
        .. " (known fields: " .. table.concat(M.fields, ", ") .. ")")
    end
  end
  return fm, body
end

-- The scalar fields: name, description, model, entry, budgets,
-- compatible_models, schema_in_ref.
local function check_scalars(fm, fail)
  local name = fm.name
  if not name or name == "" then fail("Worker file must have a 'name' field") end
  if type(name) ~= "string" then fail("Invalid name: expected string, got " .. util.describe(name)) end
  if not M.valid_name(name) then
    fail("Invalid name '" .. name .. "': worker names are tool names and must match " .. util.TOOL_NAME_RULE)
  end
  if fm.description ~= nil and type(fm.description) ~= "string" then fail("Invalid description: expected string") end
  if fm.model ~= nil and type(fm.model) ~= "string" then fail("Invalid model: expected string") end
  if fm.entry ~= nil and type(fm.entry) ~= "boolean" then fail("Invalid entry: expected boolean") end
  for _, budget in ipairs { "max_requests", "max_tool_calls" } do
    local v = fm[budget]
    if v ~= nil and (math.type(v) ~= "integer" or v < 1) then
      fail("Invalid " .. budget .. ": expected an integer >= 1")
    end
  end
  local compatible = fm.compatible_models
  if compatible ~= nil then
    if not is_list(compatible) then fail("Invalid compatible_models: expected YAML list") end
    for _, p in ipairs(compatible) do
      if type(p) ~= "string" then fail("Invalid compatible_models entry: expected string, got " .. util.describe(p)) end
    end
  end
  if fm.model_settings ~= nil then
    local err = require("llmdo.settings").shape(fm.model_settings, "model_settings")
    if err then fail("Invalid " .. err) end
  end
  local ref = fm.schema_in_ref
  if ref ~= nil then
    if type(ref) ~= "string" then fail("Invalid schema_in_ref: expected string") end
    if not ref:match("%S") then fail("Invalid schema_in_ref: must not be empty") end
  end
end

local function parse_toolsets(list, fail)
  local toolsets = {}
  if list == nil then return toolsets end
  if not is_list(list) then fail("Invalid toolsets: expected YAML list") end
  local seen = {}
  for _, item in ipairs(list) do
    local ts = parse_toolset_entry(item, fail)
    if seen[ts.name] then fail("Duplicate toolset entry: " .. ts.name) end
    seen[ts.name] = true
    toolsets[#toolsets + 1] = ts
  end
  return toolsets
end

local function parse_server_tools(sst, fail)
  local server_tools = {}
  if sst == nil or sst == false then return server_tools end
  if not is_list(sst) then fail("Invalid server_side_tools: expected YAML list") end
  for _, item in ipairs(sst) do
    if not is_mapping(item) then fail("Invalid server_side_tools entry: expected a mapping with 'tool_type'") end
    if item.tool_type == nil then fail("server_side_tools entry must have 'tool_type'") end
    if not server_tool_set[item.tool_type] then
      fail("Unknown tool_type: " .. tostring(item.tool_type) .. ". Supported: "
        .. table.concat(M.server_tool_types, ", "))
    end
    server_tools[#server_tools + 1] = item
  end
  return server_tools
end

function M.parse(abs)
  local display = util.display(abs)
  local function fail(msg) util.fail("project", display .. ": " .. msg) end
  local fm, body = read(abs, fail)
  check_scalars(fm, fail)
  return {
    name = fm.name,
    file = abs,
    display = display,
    description = fm.description,
    entry = fm.entry == true,
    model = fm.model,
    compatible_models = fm.compatible_models,
    schema_in_ref = fm.schema_in_ref,
    max_requests = fm.max_requests,
    max_tool_calls = fm.max_tool_calls,
    model_settings = fm.model_settings,
    toolsets = parse_toolsets(fm.toolsets, fail),
    server_side_tools = parse_server_tools(fm.server_side_tools, fail),
    instructions = body,
  }
end

return M
