-- The mcp toolset: an MCP server's tools as a toolset instance (docs/mcp.md).
--
--   - gh: { toolset: mcp, command: [github-mcp-server, stdio],
--           env: { GITHUB_TOKEN: "$GITHUB_TOKEN" }, approve: [search_issues] }
--
-- The server starts when the instance is made (per worker call, or once per
-- run or process with scope: run | global), its tools appear under the
-- instance name (gh_search_issues), and the instance's cleanup ends it. Every
-- tool asks for approval unless `approve` names it; `tools` keeps only the
-- tools it names. The protocol and the transports are lua/llmdo/mcp.lua.
local llmdo = require "llmdo"
local E = require "llmdo.core.error"
local task = require "llmdo.core.task"
local mcp = require "llmdo.mcp"
local json = require "llmdo.core.json"
local util = require "llmdo.util"
local term = require "llmdo.core.term"

local M = {}

local function name_set(list, offered, what, server)
  if list == true then return setmetatable({}, { __index = function() return true end }) end
  local set = {}
  for _, n in ipairs(list or {}) do
    if not offered[n] then
      util.fail("run", "MCP server '" .. server .. "': " .. what .. ": '" .. n .. "' is not one of its tools ("
        .. util.list(util.sorted_keys(offered)) .. ")")
    end
    set[n] = true
  end
  return set
end

-- The tool records of a connected server's tools, as a toolset's factory
-- returns them.
function M.tools(client, config)
  local listed, offered = client:list_tools(), {}
  for _, t in ipairs(listed) do offered[t.name] = t end
  local keep = config.tools and name_set(config.tools, offered, "tools", client.name)
  local approve = name_set(config.approve, offered, "approve", client.name)
  local tools = {}
  for _, t in ipairs(listed) do
    if not keep or keep[t.name] then
      local name = t.name
      tools[name] = {
        description = type(t.description) == "string" and t.description or (t.title or ""),
        params = t.inputSchema or { type = "object" },
        approval = approve[name] and "pre_approved" or "required",
        fn = function(args) return client:call_tool(name, args) end,
      }
    end
  end
  return tools
end

M.spec = llmdo.toolset {
  validate_config = mcp.check_config,
  factory = function(ctx)
    local client = mcp.connect(ctx.name, ctx.config, { root = ctx.project_root, secret_vars = ctx.secret_vars })
    local ok, tools = task.xpcall(M.tools, E.msghandler, client, ctx.config)
    if not ok then -- (cancelled too: the server must not outlive the call)
      task.shield(client.close, client)
      error(tools, 0)
    end
    return { tools = tools, cleanup = function() client:close() end }
  end,
}
-- the scope is the instance's to choose
M.spec.scope_of = function(config) return config.scope or "call" end

-- The MCP toolset entries of a linked project: { {worker=, entry=}, ... },
-- each instance (name and configuration) once.
local function instances(project)
  local out, seen = {}, {}
  for _, def in ipairs(project.worker_list) do
    for _, e in ipairs(def.toolsets) do
      if e.target.kind == "builtin" and e.target.name == "mcp" then
        local key = e.name .. "\0" .. json.encode(e.config, "s")
        if not seen[key] then
          seen[key] = true
          out[#out + 1] = { worker = def.name, entry = e }
        end
      end
    end
  end
  return out
end

-- check --tools runs every factory: with MCP servers that takes --connect.
function M.refuse_servers(project)
  local found = instances(project)[1]
  if found then
    util.fail("usage", "worker '" .. found.worker .. "' uses MCP server '" .. found.entry.name
      .. "': check --tools starts it only with --connect")
  end
end

-- check --connect: each MCP server started once, its tools and their
-- schemas listed through add(line), then closed.
function M.report(project, add)
  for _, it in ipairs(instances(project)) do
    local e, cfg = it.entry, it.entry.config
    add("")
    add("mcp " .. e.name .. " (worker " .. it.worker .. "): "
      .. (cfg.url or table.concat(cfg.command, " ")))
    local client = mcp.connect(e.name, cfg, { root = project.root, secret_vars = project.secret_vars })
    local ok, tools = task.xpcall(function()
      client:ping()
      return M.tools(client, cfg)
    end, E.msghandler)
    task.shield(client.close, client)
    if not ok then error(tools, 0) end
    local info = client.info
    -- what a server says is escaped before it reaches the terminal
    local who = tostring(info.name or "?") .. " " .. tostring(info.version or "")
    add("  server:   " .. term.escape(who) .. ", protocol " .. term.escape(tostring(client.protocol)))
    for _, name in ipairs(util.sorted_keys(tools)) do
      local t = tools[name]
      add("  " .. e.name .. "_" .. name .. (t.approval == "pre_approved" and "" or "  [needs approval]"))
      if t.description ~= "" then add("    " .. term.escape((t.description:gsub("%s*\n%s*", " ")))) end
      add("    " .. term.escape(json.encode(t.params, "s")))
    end
  end
end

return M
