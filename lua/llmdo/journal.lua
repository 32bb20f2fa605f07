-- The run journal (docs/journal.md): one JSONL file per run, one line per
-- event, in order. This file decides what the lines say and reads them
-- back for --replay and --resume; src/journal.c owns the file (whole-line
-- writes, secrets redacted, a full disk stops the journal, not the run).
--
--   start(opts)          a journal for one run, or nil (logging off)
--   j:model(...)         a model request: recorded answer, or a live one
--   M.invoke(f, call)    a tool call through the plane, journaled
--   j:finish(...)        the run's end: status, totals; synced, closed
local J = require "llmdo.core.journal"
local E = require "llmdo.core.error"
local json = require "llmdo.core.json"
local sys = require "llmdo.core.sys"
local frame = require "llmdo.core.frame"
local tool = require "llmdo.core.tool"
local util = require "llmdo.util"

local M = {}

M.VERSION = 1
M.KEEP = 200 -- journals kept in the default directory (LLMDO_LOG_KEEP)
M.MAX_MB = 256 -- and their total size (LLMDO_LOG_MAX_MB)

local function env_number(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  local n = math.tointeger(tonumber(v))
  if not n or n < 1 then util.fail("usage", name .. ": expected a positive integer, got '" .. v .. "'") end
  return n
end

-- The directory of the journals llmdo keeps by default.
function M.dir()
  local state = util.xdg_dir("XDG_STATE_HOME", ".local/state")
  return state and state .. "/llmdo/runs"
end

-- An ISO 8601 UTC time, to the millisecond, of ms since the epoch.
function M.time(ms)
  return os.date("!%Y-%m-%dT%H:%M:%S", ms // 1000) .. string.format(".%03dZ", ms % 1000)
end

-- Is logging off by the environment? (LLMDO_NO_LOG=1)
function M.off_by_env()
  local v = os.getenv("LLMDO_NO_LOG")
  return v ~= nil and v ~= "" and v ~= "0"
end

-- Keeps the newest KEEP journals of dir, and no more than MAX_MB in all;
-- `current` (the new run's file) is never removed.
-- A journal without its end, written to within this many seconds, may
-- belong to a run still going: retention leaves it alone.
M.BUSY_S = 3600

-- Does the journal at path end with its run_end line (the run is over)?
local function ended(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local size = f:seek("end")
  f:seek("set", math.max(0, size - 4096))
  local tail = f:read("a") or ""
  f:close()
  return (tail:match("([^\n]*)\n$") or ""):find('^{"type":"run_end"') ~= nil
end

local function limits()
  return env_number("LLMDO_LOG_KEEP", M.KEEP), env_number("LLMDO_LOG_MAX_MB", M.MAX_MB) * 1048576
end

-- The count is checked at every run's start from the names alone; the
-- total size, which needs every file's size, at about one start in
-- SIZE_EVERY (a listing with sizes costs a stat per journal kept).
M.SIZE_EVERY = 16

-- Journals one start looks at for deletion, at most: a directory far over
-- its bounds (a lower LLMDO_LOG_KEEP, an older llmdo) shrinks over a few
-- runs, and no start waits on thousands of deletions.
M.PRUNE_MAX = 50

local function prune(dir, current, keep, max_bytes)
  local sized = math.random(M.SIZE_EVERY) == 1
  local files = J.list(dir, sized)
  if not files then return end
  table.sort(files, function(a, b) return a.name > b.name end) -- newest first: names start with the time
  local count, bytes, over = 0, 0, {}
  for _, f in ipairs(files) do
    if f.name ~= current then
      count, bytes = count + 1, bytes + (f.size or 0)
      if count >= keep or bytes > max_bytes then over[#over + 1] = f.name end
    end
  end
  local now = J.clock() // 1000
  for i = #over, math.max(1, #over - M.PRUNE_MAX + 1), -1 do -- the oldest first
    local path = dir .. "/" .. over[i]
    local _, mtime = J.stat(path)
    if mtime and (now - mtime > M.BUSY_S or ended(path)) then os.remove(path) end
  end
end

-- ---------------------------------------------------------------------
-- Reading a journal back

-- The events of a journal file, in order; a line cut by a crash ends the
-- list. Raises a usage error naming the file when it is not a journal.
-- The events of the lines of open file f; raises a usage error when the
-- first line is not JSON.
local function parse_lines(f, path, flag)
  local events, n = {}, 0
  for line in f:lines() do
    n = n + 1
    local ok, ev = pcall(json.decode, line)
    if not ok or type(ev) ~= "table" then
      if n == 1 then util.fail("usage", flag .. ": " .. path .. " is not an llmdo journal (line 1 is not JSON)") end
      break -- the last line of a journal cut mid-write
    end
    if ev.type == "model_request" and ev.body ~= nil then
      -- the body as written (the base of the next bodies' byte offsets): the
      -- last field of its line, as it stands
      local at = line:find(',"body":', 1, true)
      if at then ev.body_text = line:sub(at + 8, -2) end
    end
    events[#events + 1] = ev
  end
  return events
end

function M.read(path, flag)
  local f, err = io.open(path, "rb")
  if not f then util.fail("usage", flag .. ": cannot read " .. path .. ": " .. tostring(err):gsub("^[^:]*: ", "")) end
  local ok, events = pcall(parse_lines, f, path, flag)
  f:close()
  if not ok then
    if E.is(events) then error(events, 0) end
    util.fail("usage", flag .. ": cannot read " .. path .. ": " .. tostring(events):gsub("^.-:%d+: ", ""))
  end
  local first = events[1]
  if not first or first.type ~= "run_start" then
    util.fail("usage", flag .. ": " .. path .. " is not an llmdo journal (no run_start line)")
  end
  if first.v ~= M.VERSION then
    util.fail("usage", flag .. ": " .. path .. " is journal version " .. tostring(first.v) .. "; this llmdo reads "
      .. M.VERSION)
  end
  return events
end

-- A tool call's identity for --resume: worker, tool, arguments (sorted JSON).
function M.tool_key(worker, name, args)
  local ok, enc = pcall(json.encode, args or {}, "s")
  return tostring(worker) .. "\0" .. tostring(name) .. "\0" .. (ok and enc or "?")
end

-- What a recorded run offers a new one: model answers by request hash, and
-- (for --resume) tool outcomes by worker, tool and arguments, in order.
local function recorded(events)
  local requests, by_seq, answers, calls = {}, {}, {}, {}
  local by_hash, tools = {}, {}
  for _, ev in ipairs(events) do
    if ev.type == "model_request" then
      by_seq[ev.seq] = ev
      requests[#requests + 1] = ev
      ev.base = ev.body_base and by_seq[ev.body_base]
    elseif ev.type == "model_response" and by_seq[ev.req] then
      answers[ev.req] = ev
    elseif ev.type == "tool_call" then
      calls[ev.seq] = ev
    elseif ev.type == "tool_result" and calls[ev.call] then
      local c = calls[ev.call]
      local key = M.tool_key(c.worker, c.tool, c.args)
      tools[key] = tools[key] or {}
      table.insert(tools[key], ev)
    end
  end
  for _, req in ipairs(requests) do
    local a = answers[req.seq]
    if a then
      req.answer = a
      by_hash[req.hash] = by_hash[req.hash] or {}
      table.insert(by_hash[req.hash], req)
    end
  end
  return { requests = requests, by_hash = by_hash, tools = tools, start = events[1] }
end

-- The body of a recorded request as JSON text, rebuilt from the chain of
-- requests it extends (docs/journal.md: body_base, body_keep, body_rest).
function M.body_text(req)
  local chain = {}
  while req.base and req.body_rest do
    chain[#chain + 1] = req
    req = req.base
  end
  local text = req.body_text or ""
  for i = #chain, 1, -1 do text = text:sub(1, chain[i].body_keep) .. chain[i].body_rest end
  return text
end

-- The first place two JSON values differ, as a path and both values.
local function first_difference(a, b, path)
  if type(a) ~= type(b) then return path, a, b end
  if type(a) ~= "table" then
    if a ~= b then return path, a, b end
    return nil
  end
  local keys, seen = {}, {}
  for k in pairs(a) do keys[#keys + 1], seen[k] = k, true end
  for k in pairs(b) do
    if not seen[k] then keys[#keys + 1] = k end
  end
  table.sort(keys, function(x, y)
    if type(x) == type(y) then return x < y end
    return type(x) == "number"
  end)
  for _, k in ipairs(keys) do
    local sub = type(k) == "number" and (path .. "[" .. (k - 1) .. "]") or (path == "" and k or (path .. "." .. k))
    local p, x, y = first_difference(a[k], b[k], sub)
    if p then return p, x, y end
  end
  return nil
end

local function shown(v)
  if v == nil then return "(absent)" end
  local s = type(v) == "string" and string.format("%q", v) or json.encode(v, "s")
  s = s:gsub("\\\n", "\\n")
  if #s > 80 then s = s:sub(1, 77) .. "..." end
  return s
end

-- ---------------------------------------------------------------------
-- Writing

local Journal = {}
Journal.__index = Journal

-- One event line: type, seq and t (ms since the run started) first, then
-- the fields in key order; `raw`, if given, is embedded as the value of
-- field raw_key as it stands (a JSON text: the exact wire body).
function Journal:event(kind, fields, raw_key, raw)
  if self.off then return 0 end
  self.seq = self.seq + 1
  local ok, enc = pcall(json.encode, fields or {}, "s")
  if not ok then -- a value JSON cannot hold (NaN, a function): the plain fields stay
    local plain = { unencodable = tostring(enc) }
    for k, v in pairs(fields) do
      if type(v) == "string" or type(v) == "boolean" or math.type(v) == "integer" then plain[k] = v end
    end
    enc = json.encode(plain, "s")
    raw = nil
  end
  local head = string.format('{"type":"%s","seq":%d,"t":%d', kind, self.seq, math.floor(sys.now() - self.started))
  local rest = enc == "{}" and "" or ("," .. enc:sub(2, -2))
  if raw then
    self.file:write(head, rest, ',"', raw_key, '":', raw, "}")
  else
    self.file:write(head, rest, "}")
  end
  return self.seq
end

-- A journal for one run. opts: path (a chosen file) or the default
-- directory; replay / resume (a journal file to answer from); project,
-- entry, argv, input, stream. Returns nil when logging is off and nothing
-- is replayed.
function M.start(opts)
  local path, dir = opts.path, nil
  local source
  if opts.replay or opts.resume then
    source = recorded(M.read(opts.replay or opts.resume, opts.replay and "--replay" or "--resume"))
  end
  local file, keep, max_bytes
  if path then
    local err
    file, err = J.open(path)
    if not file then util.fail("usage", "--journal: cannot write " .. path .. ": " .. err) end
  elseif not opts.no_log then
    keep, max_bytes = limits() -- checked before a file is made
    dir = M.dir()
    local ok, err = dir and J.mkdirs(dir)
    if ok then
      for _ = 1, 8 do -- a name taken by another run started in the same second: another suffix
        local ms = J.clock()
        local id = os.date("!%Y%m%d-%H%M%S", ms // 1000) .. string.format("-%03d%x", ms % 1000, math.random(0, 15))
        path = dir .. "/" .. id .. ".jsonl"
        file, err = J.open(path, true)
        if file then break end
      end
    end
    if not file then
      io.stderr:write("warning: cannot keep a journal in ", tostring(dir), " (", tostring(err),
        "); this run is not journaled (--no-log silences this)\n")
    end
  end
  if not file and not source then return nil end
  local j = setmetatable({
    file = file, path = file and path, seq = 0, started = sys.now(), off = file == nil,
    source = source, mode = opts.replay and "replay" or opts.resume and "resume" or nil,
    from = opts.replay or opts.resume, used = {}, requests = 0, models = {}, model_list = {},
    -- resume: the worker calls (frames) that met a difference and went live
    live = setmetatable({}, { __mode = "k" }),
  }, Journal)
  if source and source.start.project ~= opts.project then
    io.stderr:write("warning: ", opts.replay and "--replay" or "--resume", ": ", j.from, " is a run of ",
      tostring(source.start.project), ", not of ", tostring(opts.project), "\n")
  end
  j:event("run_start", {
    v = M.VERSION, llmdo = sys.version, project = opts.project, entry = opts.entry, argv = opts.argv,
    input = opts.input, stream = opts.stream or false,
    time = M.time(J.clock()), replay = opts.replay, resumed_from = opts.resume,
  })
  if dir and file then prune(dir, path:match("[^/]+$"), keep, max_bytes) end
  return j
end

-- The run ended: its exit status and totals. The file is synced and closed.
function Journal:finish(status, err, usage, truncated)
  local fields = { exit = status, status = status == 0 and "ok" or (status == 3 and "truncated")
    or (status == 130 and "cancelled") or "failed", usage = usage, truncated = truncated or nil,
    ms = math.floor(sys.now() - self.started), requests = self.requests, models = json.array(self.model_list) }
  if err ~= nil then
    fields.error = E.is(err) and err.message or tostring(err)
    fields.error_kind = E.is(err) and err.kind or nil
  end
  self:event("run_end", fields)
  if self.file then self.file:close() end
  self.off = true
end

-- ---------------------------------------------------------------------
-- Model requests

local function nearest(self, worker)
  for _, req in ipairs(self.source.requests) do
    if not self.used[req] and req.worker == worker then return req end
  end
  for _, req in ipairs(self.source.requests) do
    if not self.used[req] then return req end
  end
end

-- A replayed request that nothing recorded answers: the error names the
-- first field that differs from the nearest recorded request.
local function no_match(self, worker, body)
  local near = nearest(self, worker)
  local msg = "Replay: no recorded response in " .. self.from .. " for a request of worker '" .. worker .. "'"
  if not near then util.fail("model", msg .. " (every recorded request was used)") end
  local ok, now = pcall(json.decode, tostring(body))
  local rok, was_body = pcall(json.decode, M.body_text(near))
  local path, was, is = first_difference(rok and was_body or nil, ok and now or nil, "")
  util.fail("model", msg .. "; it differs from recorded request " .. near.seq .. " (worker '" .. tostring(near.worker)
    .. "') at " .. (path ~= "" and path or "the body") .. ": recorded " .. shown(was) .. ", now " .. shown(is))
end

-- A tracker for the request bodies of one worker call (digest.h): each
-- body is hashed and written as "the previous one's first K bytes, then
-- these", so a long conversation's journal grows with what is new.
function Journal.tracker()
  return { t = J.tracker(), seq = nil }
end

-- Journals a model request and finds its recorded answer. Returns the
-- request's seq and the recorded model_response event (or nil: go live).
-- ctx: worker, depth, stream, tracker (the call's, or nil to write the
-- body whole), frame (the worker call). body_error: the body could not be
-- made (a scripted request that is not JSON): it is not written.
function Journal:request(spec, ctx, body, body_error)
  local worker, depth, stream, track, f = ctx.worker, ctx.depth, ctx.stream, ctx.tracker, ctx.frame
  if body_error then track = nil end
  local hash, keep, rest
  if track then
    hash, keep, rest = track.t:feed(body)
  else
    hash = J.sha256(body)
  end
  local answer
  if self.source and not (f and self.live[f]) then
    local queue = self.source.by_hash[hash]
    for _, req in ipairs(queue or {}) do
      if not self.used[req] and (self.mode == "replay" or req.answer.ok) then
        self.used[req], answer = true, req.answer
        break
      end
    end
    if not answer then
      if self.mode == "replay" then no_match(self, worker, body) end
      -- resume: from its first difference on, this worker call is live
      -- (other calls, a parallel branch's, still take what was recorded)
      if f then self.live[f] = true end
    end
  end
  self.requests = self.requests + 1
  if not self.models[spec.string] then
    self.models[spec.string] = true
    self.model_list[#self.model_list + 1] = spec.string
  end
  local fields = { worker = worker, depth = depth, provider = spec.provider, model = spec.string, api = spec.api,
    hash = hash, bytes = #body, stream = stream or false, from_journal = answer and self.mode or nil }
  local seq
  if body_error then
    fields.body_error = body_error
    seq = self:event("model_request", fields)
  elseif rest and track.seq then
    fields.body_base, fields.body_keep, fields.body_rest = track.seq, keep, rest
    seq = self:event("model_request", fields)
  else
    seq = self:event("model_request", fields, "body", body)
  end
  if track then track.seq = seq end
  return seq, answer
end

-- The tool calls of a canonical response, for `llmdo logs show`.
local function calls_of(result)
  if not result.tool_calls or #result.tool_calls == 0 then return nil end
  local out = {}
  for i, c in ipairs(result.tool_calls) do out[i] = { name = c.name, args = c.args } end
  return out
end

-- Journals a model's answer: how it arrived (status and body, or the SSE
-- events) and what it meant (stop reason, usage).
function Journal:response(req, raw, result, ms, retries)
  self:event("model_response", {
    req = req, status = raw.status, body = raw.body, events = raw.events, error = raw.error,
    ms = ms, retries = retries, ok = result ~= nil, stop_reason = result and result.stop_reason,
    usage = result and result.usage, response = raw.response, from_journal = raw.from_journal,
    text = result and result.text, tool_calls = result and calls_of(result),
  })
end

-- A model request that failed: the error, as the run saw it.
function Journal:request_failed(req, err)
  self:event("model_error", { req = req, error = E.is(err) and err.message or tostring(err),
    error_kind = E.is(err) and err.kind or nil })
end

-- A recorded answer as an HTTP handle: next() gives its SSE events,
-- wait() its status and body, as the live transfer did.
function M.tape(answer)
  local i, events = 0, answer.events or {}
  return {
    next = function()
      i = i + 1
      return events[i]
    end,
    wait = function()
      if answer.status == nil then return nil, nil, answer.error or "recorded failure", "failed" end
      return answer.status, answer.body or ""
    end,
    close = function() end,
  }
end

-- ---------------------------------------------------------------------
-- Tool calls


-- What a resumed run may take from the journal instead of running a tool:
-- outcomes the model saw, not failures or refusals (those are asked anew).
local REUSED = { ok = true, retry = true, unknown = true }

local function outcome_of(rec)
  local o = { kind = rec.kind, content = rec.content, message = rec.message, is_error = rec.is_error,
    attachments = rec.attachments } -- (an MCP tool's result: a tool error the model read, images)
  if rec.kind == "ok" then
    o.value = rec.content
    if rec.json then o.value = json.decode(rec.content) end
  end
  return o
end

-- One tool call through the tool plane, journaled: the call, the gate's
-- decision (tool.on_decision below), the outcome. A resumed run takes a
-- recorded outcome for the same worker, tool and arguments, in order,
-- without running the tool or asking for approval.
function M.invoke(f, call)
  local j = frame.get(f, "run").journal
  if not j then return tool.invoke(f, call) end
  local worker = f.worker
  local key = M.tool_key(worker, call.name, call.args)
  local fields = { worker = worker, depth = f.depth, id = call.id, tool = call.name, args = call.args,
    args_error = call.args_error }
  if j.mode == "resume" and not j.live[f] then
    for _, rec in ipairs(j.source.tools[key] or {}) do
      if not j.used[rec] and REUSED[rec.kind] then
        j.used[rec] = true
        fields.from_journal = "resume"
        local seq = j:event("tool_call", fields)
        j:event("tool_result", { call = seq, tool = call.name, kind = rec.kind, content = rec.content,
          message = rec.message, json = rec.json, is_error = rec.is_error, attachments = rec.attachments,
          from_journal = "resume" })
        return outcome_of(rec)
      end
    end
    j.live[f] = true
  end
  local seq = j:event("tool_call", fields)
  local started = sys.now()
  local o = tool.invoke(f, call)
  local res = { call = seq, tool = call.name, kind = o.kind, message = o.message, ms = math.floor(sys.now() - started) }
  if o.kind == "ok" then
    res.content, res.json = o.content, type(o.value) ~= "string" or nil
    res.is_error, res.attachments = o.is_error or nil, o.attachments
  elseif o.error then
    res.error = E.is(o.error) and o.error.message or tostring(o.error)
  end
  j:event("tool_result", res)
  return o
end

-- Every decision of the approval gate, with who made it.
tool.on_decision(function(f, name, args, decision, by)
  local j = frame.get(f, "run").journal
  if j then j:event("approval", { worker = f.worker, depth = f.depth, tool = name, args = args,
    decision = decision, by = by }) end
end)

return M
