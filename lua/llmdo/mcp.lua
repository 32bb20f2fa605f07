-- MCP clients (docs/mcp.md): the configuration of an MCP toolset, the
-- JSON-RPC 2.0 protocol (initialize, tools/list, tools/call, ping,
-- notifications/cancelled) and its two transports, stdio (a child through
-- src/chan.c, calls multiplexed by request id) and Streamable HTTP
-- (src/http.c, a POST per request). Everything waits on the event loop:
-- only the calling task waits. The toolset itself is toolsets/mcp.lua.
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local proc = require "llmdo.core.proc"
local http = require "llmdo.core.http"
local sys = require "llmdo.core.sys"
local task = require "llmdo.core.task"
local tool = require "llmdo.core.tool"
local util = require "llmdo.util"
local V = require "llmdo.validate"
local process = require "llmdo.process"
local wire = require "llmdo.providers.wire"

local M = {}

M.PROTOCOL_VERSION = "2025-06-18"
-- The versions llmdo speaks; a server may answer with an older one.
M.SUPPORTED = { ["2025-06-18"] = true, ["2025-03-26"] = true, ["2024-11-05"] = true }
M.TIMEOUT = 60           -- seconds a request may take, by default (`timeout`)
-- Closing a stdio server: stdin is closed; SIGTERM if it has not ended
-- TERM_MS later, SIGKILL KILL_MS after that (the whole process group).
M.TERM_MS, M.KILL_MS = 500, 2000
M.MAX_BYTES = 64 * 1024 * 1024
M.IMAGE_TYPES = { ["image/png"] = true, ["image/jpeg"] = true, ["image/gif"] = true, ["image/webp"] = true }

-- --- configuration --------------------------------------------------------

M.OPTIONS = { "command", "url", "headers", "env", "cwd", "scope", "tools", "approve", "timeout" }
local option_set = {}
for _, k in ipairs(M.OPTIONS) do option_set[k] = true end

local VAR = "^[%a_][%w_]*$"

local function argv_shape(v, path)
  if type(v) ~= "table" or not V.is_list(v) or #v == 0 then
    return path .. ": expected a list of strings [program, args...], got " .. util.describe(v)
  end
  for i, a in ipairs(v) do
    if type(a) ~= "string" or (i == 1 and a == "") or a:find("\0", 1, true) then
      return path .. "[" .. i .. "]: expected a " .. (i == 1 and "program name" or "string") .. ", got "
        .. util.describe(a)
    end
  end
end

local function url_shape(v, path)
  if type(v) ~= "string" or not v:match("^[Hh][Tt][Tt][Pp][Ss]?://[^%s]+$") then
    return path .. ": expected an http:// or https:// URL, got " .. util.describe(v)
  end
end

local function strings_map(check_key)
  return function(v, path)
    local err = V.map(V.string)(v, path)
    if err then return err end
    for _, k in ipairs(util.sorted_keys(v)) do
      err = check_key(k, V.key_path(path, k))
      if err then return err end
      if v[k]:find("[\r\n%z]") then return V.key_path(path, k) .. ": a value cannot contain CR, LF or NUL" end
    end
  end
end

local shape = V.record {
  command = argv_shape,
  url = url_shape,
  headers = strings_map(function(k, at)
    if not k:match("^[!#$%%&'*+%-.^_`|~%w]+$") then return at .. ": not a header name" end
  end),
  env = strings_map(function(k, at)
    if not k:match(VAR) then return at .. ": not a variable name" end
  end),
  cwd = V.nonempty_string,
  scope = V.enum { "call", "run", "global" },
  tools = V.list(V.nonempty_string),
  approve = V.either("true or a list of tool names", function(v) return v == true and nil or "" end,
    V.list(V.nonempty_string)),
  timeout = V.number { min = 0.001, max = 86400 },
}

-- The problem with an MCP toolset's configuration, or nil. Errors name the
-- key: "unknown option 'x' (options: ...)", "command: ...".
function M.check_config(config)
  if type(config) ~= "table" then return "expected a table of options, got " .. util.describe(config) end
  for _, k in ipairs(util.sorted_keys(config)) do
    if not option_set[k] then
      return "unknown option '" .. tostring(k) .. "' (options: " .. table.concat(M.OPTIONS, ", ") .. ")"
    end
  end
  local err = shape(config, "")
  if err then return (err:gsub("^%.", "")) end
  if (config.command == nil) == (config.url == nil) then
    return "give command (a server run over stdio) or url (Streamable HTTP), not both or neither"
  end
  for _, k in ipairs { "env", "cwd" } do
    if config.url and config[k] ~= nil then return k .. ": applies to a command, not to a url" end
  end
  if config.command and config.headers ~= nil then return "headers: apply to a url, not to a command" end
end

-- "$NAME" and "${NAME}" in s replaced from the environment ("$$" is "$").
-- A variable that is not set is an error naming where it was used; the
-- values are never shown.
local function expand(s, where)
  local out, i, missing = {}, 1, nil
  while i <= #s do
    local j = s:find("$", i, true)
    if not j then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, j - 1)
    if s:sub(j + 1, j + 1) == "$" then
      out[#out + 1], i = "$", j + 2
    else
      local name, after = s:match("^{([%a_][%w_]*)}()", j + 1)
      if not name then name, after = s:match("^([%a_][%w_]*)()", j + 1) end
      if name then
        local v = os.getenv(name)
        if v == nil then missing = missing or name end
        -- whatever a server is handed is a secret: journals redact it too
        if v then require("llmdo.core.journal").add_secret(name, v) end
        out[#out + 1], i = v or "", after
      else
        out[#out + 1], i = "$", j + 1
      end
    end
  end
  if missing then util.fail("run", where .. ": $" .. missing .. " is not set in the environment") end
  local value = table.concat(out)
  if value:find("[\r\n%z]") then util.fail("run", where .. ": the value holds a line break or a NUL") end
  return value
end

-- --- messages ----------------------------------------------------------------

local OBJECT = { __jsontype = "object" }
local function object(t) return setmetatable(t or {}, OBJECT) end

-- What tells the server that request `id` was given up.
local function cancel_text(id)
  return json.encode({ jsonrpc = "2.0", method = "notifications/cancelled",
    params = { requestId = id, reason = "cancelled" } })
end

local Client = {}
Client.__index = Client

local function fail(c, msg) util.fail("run", "MCP server '" .. c.name .. "' " .. msg) end

-- The last line the server wrote to stderr, for error messages.
local function last_words(ch)
  local tail = ch:stderr():gsub("%s+$", "")
  local line = tail:match("([^\n]*)$")
  if line == "" then return "" end
  if #line > 300 then line = line:sub(1, 300) .. "..." end
  return " (its stderr ends: " .. line .. ")"
end

-- --- stdio -------------------------------------------------------------------

local Stdio = {}
Stdio.__index = Stdio

local function start_stdio(c, cfg, opts)
  local cwd = cfg.cwd and util.abspath(cfg.cwd, opts.root) or opts.root
  if sys.stat(cwd) ~= "directory" then fail(c, "cannot start: cwd is not a directory: " .. cwd) end
  local env = process.env(nil, opts.secret_vars, cwd)
  for _, k in ipairs(util.sorted_keys(cfg.env or {})) do
    local value = expand(cfg.env[k], "MCP server '" .. c.name .. "': env." .. k)
    for i = #env, 1, -1 do -- env: replaces an inherited variable (the first of two would win)
      if env[i]:sub(1, #k + 1) == k .. "=" then table.remove(env, i) end
    end
    env[#env + 1] = k .. "=" .. value
  end
  local ch, why = proc.open { argv = cfg.command, cwd = cwd, env = env, name = c.name }
  if not ch then fail(c, "cannot start '" .. cfg.command[1] .. "': " .. why) end
  return setmetatable({ ch = ch }, Stdio)
end

-- One request: the decoded response, or a raised error that says why not.
function Stdio:request(c, id, method, text, kind)
  local ch = self.ch
  -- initialize is never announced as cancelled (the protocol forbids it)
  local ok, r = pcall(task.timeout, c.timeout, function() return { ch:call(id, text, method == "initialize") } end)
  if not ok then
    if E.is(r) and r.kind == "timeout" then c:timed_out(method, kind) end
    error(r, 0)
  end
  if r[1] then return r[1] end
  if r[3] == "exited" then
    self.dead = true
    fail(c, (ch:why() or "closed its output") .. " during " .. method .. last_words(ch))
  elseif r[3] == "malformed" then
    fail(c, "sent a message that is not JSON-RPC (during " .. method .. "): " .. r[2])
  end
  fail(c, "was closed during " .. method)
end

function Stdio:notify(_, text) self.ch:send(text) end

function Stdio:alive() return not self.dead and self.ch:alive() end

function Stdio:close() self.ch:close(M.TERM_MS, M.KILL_MS) end

-- --- Streamable HTTP ---------------------------------------------------------

local Remote = {}
Remote.__index = Remote

local function start_http(c, cfg)
  local headers = {}
  for _, k in ipairs(util.sorted_keys(cfg.headers or {})) do
    headers[#headers + 1] = k .. ": " .. expand(cfg.headers[k], "MCP server '" .. c.name .. "': headers." .. k)
  end
  return setmetatable({ url = cfg.url, headers = headers }, Remote)
end

local function header(lines, name)
  for line in (lines or ""):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    if k and k:lower() == name then return v end
  end
end

-- One POST (or DELETE) to the server. Returns the status, the body, the
-- response's headers, or nil, why, kind.
function Remote:send(c, method, body, seconds)
  local headers = { "accept: application/json, text/event-stream" }
  if body then headers[#headers + 1] = "content-type: application/json" end
  if self.session then headers[#headers + 1] = "mcp-session-id: " .. self.session end
  if c.protocol then headers[#headers + 1] = "mcp-protocol-version: " .. c.protocol end
  for _, h in ipairs(self.headers) do headers[#headers + 1] = h end
  local ms = math.max(1, math.ceil(seconds * 1000))
  local h <close> = http.request { url = self.url, method = method, headers = headers, body = body,
    max_retries = 0, timeout_ms = ms, connect_timeout_ms = ms, max_bytes = M.MAX_BYTES, pool = "tool",
    response_headers = true }
  local status, text, why, kind = h:wait()
  if not status then return nil, why, kind end
  return status, text, h:headers()
end

-- The message with `id` in a response body: JSON (one message or a batch)
-- or an event stream whose events carry messages.
local function find_response(body, content_type, id)
  local messages = {}
  if (content_type or ""):lower():find("text/event-stream", 1, true) then
    for _, ev in ipairs(http.sse_parse(body)) do
      if ev.data ~= "" then messages[#messages + 1] = ev.data end
    end
  else
    messages[1] = body
  end
  for _, text in ipairs(messages) do
    local ok, v = pcall(json.decode, text)
    if not ok or type(v) ~= "table" then return nil, text end
    for _, m in ipairs(v[1] and v or { v }) do
      if type(m) == "table" and m.id == id and (m.result ~= nil or m.error ~= nil) then return m end
    end
  end
  return nil, body
end

function Remote:request(c, id, method, text, kind)
  local status, body, headers = self:send(c, "POST", text, c.timeout)
  if not status then
    if headers == "timeout" then
      if method ~= "initialize" then self:notify(c, cancel_text(id)) end -- (the protocol forbids that one)
      c:timed_out(method, kind)
    end
    fail(c, "(" .. self.url .. ") cannot be reached during " .. method .. ": " .. tostring(body))
  end
  if status < 200 or status > 299 then
    local hint = status == 404 and self.session and " (the session has ended)" or ""
    fail(c, "answered " .. method .. " with HTTP " .. status .. hint .. ": " .. wire.excerpt(body))
  end
  if method == "initialize" then self.session = header(headers, "mcp-session-id") end
  local m, raw = find_response(body, header(headers, "content-type"), id)
  if not m then
    fail(c, "sent no JSON-RPC response to " .. method .. ": " .. wire.excerpt(raw))
  end
  return m
end

-- Notifications get no answer worth waiting long for.
function Remote:notify(c, text) self:send(c, "POST", text, 5) end

function Remote.alive() return true end

-- The session ends with a DELETE (a server may refuse it: that is fine).
function Remote:close(c)
  if self.session then self:send(c, "DELETE", nil, 5) end
end

-- --- the client ------------------------------------------------------------


-- A request that took longer than `timeout`: for tools/call the model is
-- told (kind "timeout"); the handshake fails the call.
function Client:timed_out(method, kind)
  local seconds = math.type(self.timeout) == "integer" and tostring(self.timeout)
    or string.format("%g", self.timeout)
  if kind == "timeout" then
    util.fail("timeout", "got no answer from MCP server '" .. self.name .. "' within " .. seconds .. " s (timeout)")
  end
  fail(self, "did not answer " .. method .. " within " .. seconds .. " s (timeout)")
end

-- Sends a request and returns its result, or nil and the JSON-RPC error.
-- Other failures raise; a timeout raises an error of `kind` ("timeout":
-- the model hears of it, as of a Lua tool's; otherwise the call fails).
function Client:request(method, params, kind)
  self.next_id = self.next_id + 1
  local id = self.next_id
  local text = json.encode({ jsonrpc = "2.0", id = id, method = method, params = params })
  local t = self.transport
  local ok, r = task.xpcall(function()
    if getmetatable(t) == Stdio then
      local line = t:request(self, id, method, text, kind)
      local dok, m = pcall(json.decode, line)
      if not dok or type(m) ~= "table" then
        fail(self, "sent a message that is not JSON-RPC (during " .. method .. "): " .. wire.excerpt(line))
      end
      return m
    end
    return t:request(self, id, method, text, kind)
  end, E.msghandler)
  if not ok then
    -- Ctrl-C, a budget, a failing sibling: the server hears of it (stdio:
    -- src/chan.c does it when the wait ends)
    if task.cancelled() and getmetatable(t) == Remote and method ~= "initialize" then
      task.shield(function() pcall(t.notify, t, self, cancel_text(id)) end)
    end
    error(r, 0)
  end
  if type(r.error) == "table" then return nil, r.error end
  if r.error ~= nil then return nil, { message = tostring(r.error) } end
  if type(r.result) ~= "table" then
    fail(self, "sent a malformed result for " .. method .. ": " .. wire.excerpt(json.encode(r)))
  end
  return r.result
end

function Client:notify(method, params)
  self.transport:notify(self, json.encode({ jsonrpc = "2.0", method = method, params = params }))
end

local function rpc_error(e)
  local msg = tostring(e.message or "(no message)")
  if not e.code or msg:find("^MCP error") then return msg end -- (the TypeScript SDK's messages say it)
  return "MCP error " .. tostring(e.code) .. ": " .. msg
end

-- initialize and notifications/initialized: the protocol version and the
-- server's capabilities.
function Client:handshake()
  local r, err = self:request("initialize", {
    protocolVersion = M.PROTOCOL_VERSION,
    capabilities = object(),
    clientInfo = { name = "llmdo", version = sys.version },
  })
  if not r then fail(self, "refused initialize: " .. rpc_error(err)) end
  if not M.SUPPORTED[r.protocolVersion] then
    fail(self, "speaks MCP protocol version " .. tostring(r.protocolVersion) .. "; llmdo speaks "
      .. util.list(util.sorted_keys(M.SUPPORTED)))
  end
  if type(r.capabilities) ~= "table" or r.capabilities.tools == nil then
    fail(self, "offers no tools (its capabilities have no 'tools')")
  end
  self.protocol = r.protocolVersion
  self.info = type(r.serverInfo) == "table" and r.serverInfo or {}
  self:notify("notifications/initialized")
end

-- Starts the server named `name` with `config` and shakes hands. opts:
-- root (the project root), secret_vars (kept from the child).
function M.connect(name, config, opts)
  local c = setmetatable({ name = name, config = config, opts = opts, timeout = config.timeout or M.TIMEOUT,
    next_id = 0 }, Client)
  c:start()
  return c
end

-- Starts the server and shakes hands. One start at a time: the calls of
-- a turn run concurrently, and those that find the server dead wait for
-- the first one's restart instead of starting their own. A failed start
-- closes its transport, not the client (a later call may start it again,
-- and the instance's cleanup must still close that one).
function Client:start()
  self.starting = true
  self.protocol = nil
  local ok, err = task.xpcall(function()
    self.transport = self.config.command and start_stdio(self, self.config, self.opts)
      or start_http(self, self.config)
    self:handshake()
  end, E.msghandler)
  self.starting = nil
  if not ok then
    if self.transport then task.shield(self.transport.close, self.transport, self) end
    error(err, 0)
  end
end

-- tools/list, every page: { {name=, description=, inputSchema=}, ... }.
function Client:list_tools()
  local tools, cursor, pages, seen = {}, nil, 0, {}
  repeat
    local r, err = self:request("tools/list", cursor and { cursor = cursor } or object())
    if not r then fail(self, "refused tools/list: " .. rpc_error(err)) end
    if type(r.tools) ~= "table" then fail(self, "answered tools/list without a list of tools") end
    for i, t in ipairs(r.tools) do
      if type(t) ~= "table" or type(t.name) ~= "string" then
        fail(self, "answered tools/list with a tool that has no name (tools[" .. i .. "])")
      end
      if t.inputSchema ~= nil and (type(t.inputSchema) ~= "table" or t.inputSchema.type ~= "object") then
        fail(self, "tool '" .. t.name .. "': inputSchema must be a JSON Schema of type object")
      end
      tools[#tools + 1] = t
    end
    cursor = type(r.nextCursor) == "string" and r.nextCursor ~= "" and r.nextCursor or nil
    if cursor and seen[cursor] then fail(self, "answered tools/list with the cursor '" .. cursor .. "' twice") end
    if cursor then seen[cursor] = true end
    pages = pages + 1
    if pages > 1000 then fail(self, "answered tools/list with more than 1000 pages") end
  until not cursor
  return tools
end

-- What the model reads for one content item; an image the providers take
-- becomes an attachment.
local function content_item(item, texts, attachments)
  local kind = type(item) == "table" and item.type
  if kind == "text" then
    texts[#texts + 1] = tostring(item.text)
  elseif kind == "image" and M.IMAGE_TYPES[item.mimeType] and type(item.data) == "string" then
    attachments[#attachments + 1] = { type = "attachment", media_type = item.mimeType, data = item.data }
    texts[#texts + 1] = "[image " .. #attachments .. ": " .. item.mimeType .. ", attached]"
  elseif kind == "image" or kind == "audio" then
    texts[#texts + 1] = "[" .. kind .. " of type " .. tostring(item.mimeType) .. ": not shown]"
  elseif kind == "resource" and type(item.resource) == "table" then
    local r = item.resource
    if type(r.text) == "string" then
      texts[#texts + 1] = "[resource " .. tostring(r.uri) .. "]\n" .. r.text
    elseif M.IMAGE_TYPES[r.mimeType] and type(r.blob) == "string" then
      attachments[#attachments + 1] = { type = "attachment", media_type = r.mimeType, data = r.blob }
      texts[#texts + 1] = "[resource " .. tostring(r.uri) .. ": " .. r.mimeType .. ", attached]"
    else
      texts[#texts + 1] = "[resource " .. tostring(r.uri) .. " (" .. tostring(r.mimeType) .. "): binary, not shown]"
    end
  elseif kind == "resource_link" then
    texts[#texts + 1] = "[resource link " .. tostring(item.uri) .. (item.name and (" (" .. tostring(item.name) .. ")")
      or "") .. "]" .. (item.description and (" " .. tostring(item.description)) or "")
  else
    texts[#texts + 1] = json.encode(item, "s")
  end
end

-- A tools/call result as the model sees it: the text of its content (and
-- structuredContent when there is no text), images attached; isError
-- marks it as a tool error the model reads.
function M.result(r)
  local texts, attachments = {}, {}
  for _, item in ipairs(type(r.content) == "table" and r.content or {}) do content_item(item, texts, attachments) end
  if r.structuredContent ~= nil and #texts == 0 then texts[1] = json.encode(r.structuredContent, "s") end
  local text = table.concat(texts, "\n")
  if #attachments == 0 and r.isError ~= true then return text end
  return tool.result(text, attachments, r.isError == true)
end

-- tools/call. A JSON-RPC error is the server's answer: the model reads it
-- as a tool error. A server found dead is started afresh first (a shared
-- instance outlives the process that died under an earlier call).
function Client:call_tool(name, args)
  while self.starting do task.sleep(10) end -- another call is restarting it
  if self.closed then return tool.result("the MCP server '" .. self.name .. "' was closed", nil, true) end
  if not self.transport:alive() then
    task.shield(self.transport.close, self.transport, self)
    self:start()
  end
  local r, err = self:request("tools/call", { name = name, arguments = object(util.shallow_copy(args)) },
    "timeout")
  if not r then return tool.result(rpc_error(err), nil, true) end
  return M.result(r)
end

function Client:ping()
  local _, err = self:request("ping", object())
  if err then fail(self, "refused ping: " .. rpc_error(err)) end
end

-- Ends the server: stdio closes stdin, then SIGTERM, then SIGKILL (the
-- process group); HTTP ends the session.
function Client:close()
  if self.closed then return end
  self.closed = true
  self.transport:close(self)
end

return M
