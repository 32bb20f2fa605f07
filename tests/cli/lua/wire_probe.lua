-- One model request through models.request (the HTTP backend), for
-- tests/cli/test_outcomes_wire.py: llmdo lua wire_probe.lua MODEL REQUEST CTX OUT
-- REQUEST and CTX are JSON; the canonical response, with the number of
-- stream resets and the streamed text, is written to OUT as JSON.
-- Needs LLMDO_INTERNALS=1.
local json = require "llmdo.core.json"
local models = require "llmdo.models"
local model, req_text, ctx_text, out = arg[1], arg[2], arg[3], arg[4]
local spec = models.parse(model, "probe", "the test", { providers = {}, models = {} })
local req = json.decode(req_text)
req.tools = req.tools or {}
req.messages = req.messages or { { role = "user", parts = { { type = "text", text = "hi" } } } }
local ctx = json.decode(ctx_text)
local resets, deltas = 0, {}
ctx.on_reset = function() resets = resets + 1 end
ctx.on_delta = function(d) deltas[#deltas + 1] = d end
local r = models.request(spec, req, ctx)
r.resets, r.deltas = resets, table.concat(deltas)
local f = assert(io.open(out, "w"))
f:write(json.encode(r, "s"))
f:close()
