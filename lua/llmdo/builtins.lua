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
  shell_readonly = { module = "shell", config = { preset = "readonly" } },
  shell_file_ops = { module = "shell", config = { preset = "file_ops" } },
}

-- The configuration of a built-in: the instance's options, with the
-- variant's own settings on top (filesystem_project_ro stays read-only).
function M.config(name, user)
  local c = {}
  for k, v in pairs(user or {}) do c[k] = v end
  for k, v in pairs(M.toolsets[name].config) do c[k] = v end
  return c
end

-- The toolset spec of a built-in and its merged configuration.
function M.spec(name, user)
  return require("llmdo.toolsets." .. M.toolsets[name].module).spec, M.config(name, user)
end

return M
