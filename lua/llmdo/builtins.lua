-- The built-in toolsets every project can name. Each is a configuration of
-- one of the modules under toolsets/ (llmdo.toolsets.<module>).
local M = {}

M.toolsets = {
  filesystem = { module = "filesystem", config = {} },
  filesystem_cwd = { module = "filesystem", config = { base = "cwd" } },
  filesystem_cwd_ro = { module = "filesystem", config = { base = "cwd", read_only = true } },
  filesystem_project = { module = "filesystem", config = { base = "project" } },
  filesystem_project_ro = { module = "filesystem", config = { base = "project", read_only = true } },
  shell = { module = "shell", config = {} },
  -- a preset's rules are the whole list: its instances may not replace or widen them
  shell_readonly = { module = "shell", config = { preset = "readonly" }, fixed = { "rules", "default" } },
  shell_file_ops = { module = "shell", config = { preset = "file_ops" }, fixed = { "rules", "default" } },
  -- an MCP server: named instances only (the name prefixes its tools)
  mcp = { module = "mcp", config = {}, instance_only = true },
}

-- The configuration of a built-in: the instance's options, with the
-- variant's own settings on top (filesystem_project_ro stays read-only).
function M.config(name, user)
  local c = {}
  for k, v in pairs(user or {}) do c[k] = v end
  for k, v in pairs(M.toolsets[name].config) do c[k] = v end
  return c
end

-- The spec of a variant with fixed options: the module's, whose
-- validate_config (run at link time) refuses those options first.
local fixed_specs = {}
local function fixed_spec(name, t, spec)
  if not fixed_specs[name] then
    local s = {}
    for k, v in pairs(spec) do s[k] = v end
    s.validate_config = function(config)
      for _, k in ipairs(t.fixed) do
        if config[k] ~= nil then
          return "'" .. k .. "' cannot be set: the rules of " .. name .. " are fixed (configure the "
            .. t.module .. " toolset for rules of your own)"
        end
      end
      if spec.validate_config then return spec.validate_config(config) end
    end
    fixed_specs[name] = setmetatable(s, getmetatable(spec))
  end
  return fixed_specs[name]
end

-- The toolset spec of a built-in and its merged configuration.
function M.spec(name, user)
  local t = M.toolsets[name]
  local spec = require("llmdo.toolsets." .. t.module).spec
  if t.fixed then spec = fixed_spec(name, t, spec) end
  return spec, M.config(name, user)
end

return M
