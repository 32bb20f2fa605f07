-- `llmdo logs`: the journals of recent runs (docs/journal.md), listed, or
-- one rendered as a transcript.
local J = require "llmdo.core.journal"
local json = require "llmdo.core.json"
local term = require "llmdo.core.term"
local util = require "llmdo.util"
local journal = require "llmdo.journal"

local M = {}

local TAIL = 65536 -- a run_end line is short: the end of a file holds it

local function decode(line)
  local ok, v = pcall(json.decode, line)
  return ok and type(v) == "table" and v or nil
end

-- The run_start and run_end events of a journal, read from its two ends;
-- a run without its end (killed, or still going) is scanned for its totals.
local function summary(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local start = decode(f:read("l") or "")
  if not start or start.type ~= "run_start" then
    f:close()
    return nil
  end
  local size = f:seek("end")
  f:seek("set", math.max(0, size - TAIL))
  local tail = f:read("a") or ""
  local last = decode(tail:match("([^\n]*)\n$") or "")
  if last and last.type == "run_end" then
    f:close()
    return start, last
  end
  -- incomplete: count what it did
  f:seek("set", 0)
  local stat = { status = "incomplete", requests = 0, models = {}, usage = { input_tokens = 0, output_tokens = 0 } }
  local seen = {}
  for line in f:lines() do
    local ev = decode(line)
    if not ev then break end
    if ev.type == "model_request" then
      stat.requests = stat.requests + 1
      if not seen[ev.model] then seen[ev.model], stat.models[#stat.models + 1] = true, ev.model end
    elseif ev.type == "model_response" and type(ev.usage) == "table" then
      stat.usage.input_tokens = stat.usage.input_tokens + (tonumber(ev.usage.input_tokens) or 0)
      stat.usage.output_tokens = stat.usage.output_tokens + (tonumber(ev.usage.output_tokens) or 0)
    end
    if ev.t then stat.ms = ev.t end
  end
  f:close()
  return start, stat
end

-- The journals of the default directory, newest first.
local function journals()
  local dir = journal.dir()
  if not dir then util.fail("usage", "logs: neither XDG_STATE_HOME nor HOME is set: no journal directory") end
  local files, err = J.list(dir)
  if not files then util.fail("run", "logs: cannot read " .. dir .. ": " .. err) end
  table.sort(files, function(a, b) return a.name > b.name end)
  return files, dir
end

local function duration(ms)
  if type(ms) ~= "number" or ms ~= ms or ms < 0 or ms > 1e12 then return "?" end
  ms = math.floor(ms)
  if ms < 1000 then return string.format("%d ms", ms) end
  if ms < 60000 then return string.format("%.1f s", ms / 1000) end
  return string.format("%dm%02ds", ms // 60000, (ms % 60000) // 1000)
end

-- A journal's fields are whatever the file says: each is checked.
local function num(v) return math.type(v) == "integer" and v or 0 end
local function str(v) return type(v) == "string" and v or nil end

local function row(name, dir)
  local start, stop = summary(dir .. "/" .. name)
  if not start then return nil end
  local usage = type(stop.usage) == "table" and stop.usage or {}
  local models = {}
  for _, m in ipairs(type(stop.models) == "table" and stop.models or {}) do models[#models + 1] = tostring(m) end
  return {
    id = name:gsub("%.jsonl$", ""), path = dir .. "/" .. name, time = str(start.time), project = str(start.project),
    entry = str(start.entry), models = models, requests = num(stop.requests or usage.requests),
    input_tokens = num(usage.input_tokens), output_tokens = num(usage.output_tokens),
    status = str(stop.status), exit = math.type(stop.exit) == "integer" and stop.exit or nil, ms = stop.ms,
  }
end

-- llmdo logs [-n N] [--project P] [--status S] [--json]
local function list(opts)
  local files, dir = journals()
  local rows, want = {}, opts.logs_n or 20
  for _, f in ipairs(files) do
    if #rows >= want then break end
    local r = row(f.name, dir)
    if r and (not opts.logs_project or tostring(r.project):find(opts.logs_project, 1, true))
        and (not opts.logs_status or r.status == opts.logs_status) then
      rows[#rows + 1] = r
    end
  end
  if opts.json then
    for _, r in ipairs(rows) do r.models = json.array(r.models) end
    return json.array(rows)
  end
  if #rows == 0 then return "no runs in " .. dir end
  local lines = { string.format("%-20s  %-20s  %-10s  %8s  %4s  %15s  %s", "ID", "STARTED", "STATUS", "TIME",
    "REQS", "TOKENS IN/OUT", "PROJECT (ENTRY)  MODELS") }
  for _, r in ipairs(rows) do
    lines[#lines + 1] = string.format("%-20s  %-20s  %-10s  %8s  %4d  %15s  %s (%s)  %s", r.id,
      tostring(r.time or "?"), r.status or "?", duration(r.ms), r.requests,
      r.input_tokens .. "/" .. r.output_tokens, tostring(r.project), tostring(r.entry),
      table.concat(r.models, ", "))
  end
  return M.shown(lines)
end

-- Lines for the terminal: what a journal holds came from models, tools
-- and servers, so control characters are escaped (as -v does).
function M.shown(lines)
  local out = {}
  for _, l in ipairs(lines) do
    for seg in (l .. "\n"):gmatch("(.-)\n") do out[#out + 1] = term.escape(seg) end
  end
  return table.concat(out, "\n")
end

-- A journal named by ID (a unique prefix of a run's id) or by its path.
local function find(id)
  if id:find("/", 1, true) or id:match("%.jsonl$") then
    if io.open(id, "rb") then return id end
  end
  local files, dir = journals()
  local found = {}
  for _, f in ipairs(files) do
    if f.name:sub(1, #id) == id then found[#found + 1] = f.name end
  end
  if #found == 0 then util.fail("usage", "logs show: no run '" .. id .. "' in " .. dir .. " (see llmdo logs)") end
  if #found > 1 and found[1] ~= id .. ".jsonl" then
    util.fail("usage", "logs show: '" .. id .. "' names " .. #found .. " runs: " .. found[1]:gsub("%.jsonl$", "")
      .. ", " .. found[2]:gsub("%.jsonl$", "") .. (#found > 2 and ", ..." or ""))
  end
  return dir .. "/" .. found[1]
end

local function short(v, max)
  local s = type(v) == "string" and v or json.encode(v, "s")
  s = s:gsub("%s+", " ")
  if #s > max then s = s:sub(1, max - 3) .. "..." end
  return s
end

-- One event of a transcript, or nil for those it does not show.
local function render(ev, pad)
  local t = ev.type
  local who = "[" .. tostring(ev.worker or "?") .. "] "
  if t == "model_request" then
    return pad .. who .. "-> " .. tostring(ev.model) .. string.format(" (%d bytes)", num(ev.bytes))
      .. (ev.from_journal and (" from the journal (" .. ev.from_journal .. ")") or "")
  elseif t == "model_response" then
    local u = type(ev.usage) == "table" and ev.usage or {}
    local head = pad .. "<- " .. tostring(ev.stop_reason or (ev.ok and "?" or "failed")) .. ", "
      .. duration(ev.ms) .. string.format(", %d in / %d out", num(u.input_tokens), num(u.output_tokens))
    for _, r in ipairs(type(ev.retries) == "table" and ev.retries or {}) do
      head = head .. "\n" .. pad .. "   " .. tostring(r)
    end
    if type(ev.text) == "string" and ev.text ~= "" then head = head .. "\n" .. pad .. "   " .. short(ev.text, 300) end
    return head
  elseif t == "model_error" then
    return pad .. "!! model error: " .. tostring(ev.error)
  elseif t == "tool_call" then
    return pad .. who .. "tool " .. tostring(ev.tool) .. " " .. short(ev.args or {}, 200)
      .. (ev.from_journal and " (from the journal)" or "")
  elseif t == "approval" then
    return pad .. "   " .. tostring(ev.decision) .. " (" .. tostring(ev.by) .. ")"
  elseif t == "tool_result" then
    local body = ev.kind == "ok" and ev.content or ev.message or ev.error
    return pad .. "   " .. (ev.kind == "ok" and "= " or (tostring(ev.kind) .. ": ")) .. short(body or "", 300)
  end
end

-- llmdo logs show ID [--json]
local function show(opts)
  local path = find(opts.logs_id)
  if opts.json then
    local f = assert(io.open(path, "rb"))
    local text = f:read("a")
    f:close()
    io.stdout:write(text)
    return nil
  end
  local events = journal.read(path, "logs show")
  local s = events[1]
  local out = { "run " .. path:match("[^/]+$"):gsub("%.jsonl$", "") .. "  " .. tostring(s.time) .. "  llmdo "
    .. tostring(s.llmdo),
    "project " .. tostring(s.project) .. "  entry " .. tostring(s.entry),
    "input: " .. short(s.input or "", 300) }
  if s.replay then out[#out + 1] = "replayed from " .. s.replay end
  if s.resumed_from then out[#out + 1] = "resumed from " .. s.resumed_from end
  local depth_of = {}
  local ended
  for i = 2, #events do
    local ev = events[i]
    if ev.type == "model_request" or ev.type == "tool_call" then depth_of[ev.seq] = ev.depth or 1 end
    local d = ev.depth or depth_of[ev.req or ev.call or -1] or 1
    local line = render(ev, string.rep("  ", math.max(0, d - 1)))
    if line then out[#out + 1] = line end
    if ev.type == "run_end" then ended = ev end
  end
  if ended then
    local u = type(ended.usage) == "table" and ended.usage or {}
    out[#out + 1] = string.format("end: %s (exit %s) in %s, %d requests, %d in / %d out tokens", tostring(ended.status),
      tostring(ended.exit), duration(ended.ms), num(ended.requests), num(u.input_tokens), num(u.output_tokens))
      .. (type(u.cost) == "number" and u.cost > 0 and ", " .. require("llmdo.prices").format(u.cost) or "")
    if ended.error then out[#out + 1] = "error: " .. ended.error end
  else
    out[#out + 1] = "end: none recorded (the run was killed, or is still going)"
  end
  return M.shown(out)
end

function M.command(opts)
  if opts.logs_action == "show" then return show(opts) end
  return list(opts)
end

return M
