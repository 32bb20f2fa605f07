-- The agent loop: one worker call, from its first message to its result,
-- read top to bottom. It runs in the calling task (the entry, a parallel
-- branch, or the tool that called the worker) over C primitives that
-- yield that task: a model request waits on the network, a turn's tool
-- calls wait on the tool plane. See docs/architecture.md.
--
--   call(parent, name, input)
--     frame.new        checks (task, depth), budgets        [C: frame.c]
--     toolsets.build   fresh toolset instances for the call
--     repeat
--       model_turn     frame.count -> models.request          [yields: HTTP]
--       record_turn    the assistant message, its tool calls
--       stopped        why the model stopped: refusal, cut-off, pause
--       run_tools      tool.invoke per call, concurrently      [C: toolplane.c]
--       tool_results   one tool message; retries and errors
--     until the model answers without tool calls
--     cleanup          shielded from cancellation, exactly once
local E = require "llmdo.core.error"
local json = require "llmdo.core.json"
local frame = require "llmdo.core.frame"
local task = require "llmdo.core.task"
local term = require "llmdo.core.term"
local tool = require "llmdo.core.tool"
local util = require "llmdo.util"
local input = require "llmdo.input"
local journal = require "llmdo.journal"
local models = require "llmdo.models"
local prices = require "llmdo.prices"
local toolsets = require "llmdo.toolsets"

local M = {}

-- Appends a canonical message to the call's history (and the -vvv log).
local function append(f, messages, msg)
  messages[#messages + 1] = msg
  term.event("message", f, msg)
end

-- What a model is offered of each tool: its name, description and
-- parameters. Built once per call (scripted models get a copy, models.lua).
local function offered(tool_list)
  local out = {}
  for i, t in ipairs(tool_list) do
    out[i] = { name = t.name, description = t.description, parameters = t.parameters }
  end
  return out
end

-- The canonical request of a model turn (DESIGN §1.4). The history is the
-- call's own, shared, not copied: it only grows, so a turn costs the same
-- at round 800 as at round 10 (scripted models get a copy, models.lua).
local function request(f, def, tools, messages)
  return {
    worker = def.name,
    depth = f.depth,
    model = def.model,
    instructions = def.instructions,
    tools = tools,
    server_tools = def.server_side_tools,
    settings = def.settings or {},
    messages = messages,
  }
end

-- The run's spend: a response's tokens and dollars (llmdo.prices) count
-- towards runtime.max_tokens_total and runtime.max_cost, which hold for
-- the whole run, every nested call included. check_budget(run) after a
-- response: going past a limit ends the run with the budget's error;
-- check_budget(run, true) before a request: a budget already reached
-- refuses it (a caller that catches the budget's error and goes on would
-- otherwise pay for every later request).
local function check_budget(run, before)
  local spend = run.spend
  local function past(used, limit) return limit and (used > limit or (before and used >= limit)) end
  if past(spend.tokens, run.max_tokens_total) then
    util.fail("budget", string.format("Budget exceeded: max_tokens_total = %d for this run (%d tokens used)",
      run.max_tokens_total, spend.tokens))
  end
  if past(spend.cost, run.max_cost) then
    util.fail("budget", "Budget exceeded: max_cost = " .. prices.format(run.max_cost) .. " for this run ("
      .. prices.format(spend.cost) .. " spent)")
  end
end

local function charge(run, def, usage)
  if type(usage) ~= "table" then return end
  local spend = run.spend
  local price = prices.of(def.model_spec.string)
  if price then
    spend.cost = spend.cost + prices.cost(usage, price)
  else
    spend.unpriced[def.model_spec.string] = true
  end
  spend.tokens = spend.tokens + (tonumber(usage.input_tokens) or 0) + (tonumber(usage.output_tokens) or 0)
  check_budget(run)
end

-- One request to the model: counted against the budgets first; streamed
-- text is shown as it arrives.
local function model_turn(f, def, run, offer, messages, track)
  check_budget(run, true)
  frame.count(f, "requests", 1)
  local streamed = false
  local response = models.request(def.model_spec, request(f, def, offer, messages), {
    stream = run.stream,
    max_retries = run.max_retries,
    connect_timeout_ms = run.connect_timeout_ms,
    idle_timeout = run.idle_timeout,
    request_timeout = run.request_timeout,
    max_concurrent_requests = run.max_concurrent_requests,
    journal = run.journal, tracker = track, frame = f, worker = def.name, depth = f.depth,
    on_delta = function(text)
      if not streamed then
        streamed = true
        term.event("text_start", f)
      end
      term.event("delta", f, text)
    end,
    on_reset = function()
      if streamed then term.event("delta", f, "\n[stream interrupted; retrying]\n") end
      streamed = false
    end,
  })
  frame.add_usage(f, response.usage)
  charge(run, def, response.usage)
  if response.text then
    if not streamed then term.event("text_start", f) end
    term.event("response", f, response.text, streamed)
  end
  return response
end

-- Records the assistant message of a response and returns its tool calls.
local function record_turn(f, messages, response)
  -- HTTP backends give the parts in order (with server-tool blocks);
  -- scripted models give text and tool calls
  local parts = response.parts
  if not parts then
    parts = {}
    if response.text then parts[1] = { type = "text", text = response.text } end
    for _, call in ipairs(response.tool_calls) do
      parts[#parts + 1] = { type = "tool_call", id = call.id, name = call.name, args = call.args,
        args_error = call.args_error }
    end
  end
  local calls = {}
  for _, p in ipairs(parts) do
    if p.type == "tool_call" then
      if not p.id or p.id == "" then p.id = string.format("call_%d_%d", f.depth, #calls + 1) end
      calls[#calls + 1] = { id = p.id, name = p.name, args = p.args, args_error = p.args_error }
    elseif p.type == "provider" and p.block.type == "server_tool_use" then
      term.event("server_tool", f, p.block.name or "?", p.block.input or {})
    end
  end
  append(f, messages, { role = "assistant", parts = parts })
  return calls
end

-- The max_tokens limit a worker runs with, for messages.
local function limit_text(def)
  local n = def.settings and def.settings.max_tokens
  return n and ("model_settings.max_tokens = " .. n) or "the provider's default max_tokens"
end

local FAIL_STOPS = {
  refusal = "the model refused",
  content_filter = "the provider's content filter stopped the answer",
  context_window = "the conversation no longer fits the model's context window",
}

-- Acts on why the model stopped (canonical stop reasons, DESIGN §10).
-- Returns "pause" when the turn must be resent to continue (pause_turn),
-- "truncated" for a final answer cut at max_tokens; raises for refusals,
-- filters, a full context window and tool arguments cut off.
local function stopped(def, response, calls)
  local why = response.stop_reason
  local fail = FAIL_STOPS[why]
  if fail then
    local said = response.refusal or response.text
    util.fail("model", "Model stopped (" .. why .. ") in worker '" .. def.name .. "' (" .. def.model .. "): "
      .. fail .. (said and said ~= "" and (": " .. said) or ""), { stop_reason = why })
  end
  if why == "max_tokens" then
    for _, call in ipairs(calls) do
      if call.args_error then
        util.fail("model", "Model output was cut at the max_tokens limit in the arguments of tool '"
          .. tostring(call.name) .. "' (worker '" .. def.name .. "', " .. limit_text(def)
          .. "): raise model_settings.max_tokens", { stop_reason = why })
      end
    end
    if #calls == 0 and not (def.settings and def.settings.allow_truncated) then
      io.stderr:write("warning: the answer of worker '", def.name, "' was cut at the max_tokens limit (",
        limit_text(def), "); raise model_settings.max_tokens, or set model_settings.allow_truncated = true\n")
      return "truncated"
    end
  end
  if why == "pause_turn" and #calls == 0 then return "pause" end
end

-- Runs a turn's tool calls through the tool plane (journaled): those not marked
-- sequential together, then the sequential ones one at a time, in order.
-- A lone call runs in this task; more run as parallel branches.
local function run_tools(f, tools, calls)
  local outcomes, together = {}, {}
  for i, call in ipairs(calls) do
    local t = tools[call.name]
    if not (t and t.sequential) then together[#together + 1] = i end
  end
  if #together == 1 then
    outcomes[together[1]] = journal.invoke(f, calls[together[1]])
  elseif #together > 1 then
    task.map(together, function(i) outcomes[i] = journal.invoke(f, calls[i]) end)
  end
  for i, call in ipairs(calls) do
    if not outcomes[i] then outcomes[i] = journal.invoke(f, call) end
  end
  return outcomes
end

local RETRY_SUFFIX = "\n\nFix the errors and try again."

-- The tool message of a turn: the results in call order. Retry prompts
-- count against each tool's budget while they are consecutive, as in
-- pydantic-ai; a tool error fails the call. Returns the message and the
-- retry counts for the next turn.
local function tool_results(run, tools, calls, outcomes, retries)
  local parts, failed = {}, {}
  for i, call in ipairs(calls) do
    local o = outcomes[i]
    local part = { type = "tool_result", id = call.id, name = call.name }
    if o.kind == "ok" then
      part.content, part.is_error, part.attachments = o.content, o.is_error or false, o.attachments
    elseif o.kind == "retry" or o.kind == "unknown" then
      local t = tools[call.name]
      local budget = t and t.retries or 1
      local key = t and call.name or "\0unknown"
      local used = (retries[key] or 0) + 1
      failed[key] = used
      if used > budget then
        util.fail("run", "Tool '" .. call.name .. "' exceeded max retries count of " .. budget
          .. " (last problem: " .. o.message .. ")")
      end
      part.content, part.is_error = o.message .. RETRY_SUFFIX, true
    elseif o.kind == "permission" then
      if not run.return_permission_errors then error(o.error, 0) end
      part.content = json.encode({ error = o.message, tool_name = call.name, error_type = "permission" }, "s")
      part.is_error = false
    else
      error(o.error, 0)
    end
    parts[i] = part
  end
  return { role = "tool", parts = parts }, failed
end

-- The turns of a call, until the model answers without tool calls.
-- Returns the final text and the stop reason of its response.
local function loop(f, tools, tool_list, def, run, messages)
  local offer, retries = offered(tool_list), {}
  local track = run.journal and run.journal.tracker() -- the call's request bodies, journaled as they grow
  while true do
    local response = model_turn(f, def, run, offer, messages, track)
    local calls = record_turn(f, messages, response)
    local state = stopped(def, response, calls)
    if state == "truncated" then run.truncated = true end
    if #calls == 0 and state ~= "pause" then
      term.event("complete", f, response.stop_reason)
      return response.text or "", response.stop_reason
    end
    if #calls > 0 then -- (a pause resends the turn as it stands)
      frame.count(f, "tool_calls", #calls)
      local outcomes = run_tools(f, tools, calls)
      local msg
      msg, retries = tool_results(run, tools, calls, outcomes, retries)
      append(f, messages, msg)
    end
  end
end

-- The definition of worker `name` in the run of frame `parent`.
local function worker_def(parent, name)
  local run = frame.get(parent, "run")
  local def = run.project.workers[name]
  if not def then
    local names = util.sorted_keys(run.project.workers)
    local near = require("llmdo.suggest").nearest(name, names)
    util.fail("run", "Agent '" .. tostring(name) .. "' not found"
      .. (near and "; did you mean '" .. near .. "'?" or ".")
      .. " Available: " .. util.list(names))
  end
  return def, run
end

-- A frame for a call of `def` below `parent`, with its budgets.
local function new_frame(parent, name, def, run)
  local rtc = run.project.runtime
  return frame.new(parent, name, def, def.max_requests or rtc.max_requests, def.max_tool_calls or rtc.max_tool_calls)
end

-- Builds the call-scoped toolsets of frame f (a call of `def`) and runs
-- fn(f, tools, list, ...); then the cleanups run, shielded, exactly once,
-- and the frame closes, whatever fn did. Returns fn's first two results.
local function with_toolsets(f, def, run, fn, ...)
  local instances = {} -- call-scoped toolset instances, in creation order
  local ok, a, b = task.xpcall(function(...)
    local tools, list = toolsets.build(f, def, run, instances)
    frame.set_tools(f, tools)
    return fn(f, tools, list, ...)
  end, E.msghandler, ...)
  task.shield(toolsets.cleanup, instances)
  frame.close(f)
  if not ok then
    if E.is(a) and a.worker == nil then a.worker = def.name end -- the innermost worker that failed
    error(a, 0)
  end
  return a, b
end

-- Where a model's attachments may be, resolved once per run (realpath of
-- each root), not at every worker call a model makes.
local function attachment_roots(run)
  run.attachment_roots = run.attachment_roots or input.attachment_roots(run.project)
  return run.attachment_roots
end

-- rt:call_agent(name, input): runs worker `name` as a child of `parent`
-- and returns its final text and an info table { stop_reason =, usage = }.
-- Only the first call made from the entry (depth 0) in a turn takes and
-- extends the entry's history (features §15).
-- `from` is input.FROM_MODEL when a model wrote the input (a worker used
-- as a tool): its attachments are confined to the attachment roots.
function M.call(parent, name, data, from)
  frame.new(parent, name) -- the checks alone, before anything else
  local def, run = worker_def(parent, name)
  local _, parts = input.normalize(def.schema_in, data, "run")
  -- (before the frame is made: a refused attachment leaves no frame open)
  local first = input.user_message(parts, run.project.root,
    from == input.FROM_MODEL and attachment_roots(run) or nil)
  local f = new_frame(parent, name, def, run)
  local messages = {}
  local takes_history = parent.depth == 0 and not run.history_taken
  if takes_history then
    run.history_taken = true
    for i, m in ipairs(frame.get(parent, "history")) do messages[i] = m end
  end
  messages[#messages + 1] = first
  for _, m in ipairs(messages) do term.event("message", f, m) end
  local res, stop_reason = with_toolsets(f, def, run, loop, def, run, messages)
  if takes_history then
    local history = frame.get(parent, "history")
    for i = #history, 1, -1 do history[i] = nil end
    for i, m in ipairs(messages) do history[i] = m end
  end
  return res, { stop_reason = stop_reason, usage = frame.usage(f) }
end

-- A call of worker `name` with no model: its toolsets are built as for a
-- real call, fn(f, tools, list) runs, the cleanups run. Returns fn's result.
local function without_model(parent, name, fn)
  frame.new(parent, name)
  local def, run = worker_def(parent, name)
  return (with_toolsets(new_frame(parent, name, def, run), def, run, fn))
end

-- One tool call through the plane (llmdo tool). Returns the outcome
-- (toolplane.h).
function M.call_tool_alone(parent, name, call)
  return without_model(parent, name, function(f) return tool.invoke(f, call) end)
end

-- The tools worker `name` is offered (llmdo check --tools); factories run.
function M.tool_list(parent, name)
  return without_model(parent, name, function(_, _, list)
    return json.array(offered(list))
  end)
end

return M
