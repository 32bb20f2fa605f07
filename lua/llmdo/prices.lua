-- What model calls cost: dollars per million tokens, per model, for input,
-- output, cache reads and cache writes. The config file's `prices` adds
-- models or overrides these (docs/cli.md). The figures are the providers'
-- list prices for standard (not batch) requests; check them against your
-- bill, and override them when they change.
local M = {}

-- input, output, cache_read, cache_write
local function p(input, output, cache_read, cache_write)
  return { input = input, output = output, cache_read = cache_read or input, cache_write = cache_write or input }
end

M.table = {
  ["anthropic:claude-opus-4-5"] = p(5, 25, 0.50, 6.25),
  ["anthropic:claude-opus-4-1"] = p(15, 75, 1.50, 18.75),
  ["anthropic:claude-opus-4-0"] = p(15, 75, 1.50, 18.75),
  ["anthropic:claude-opus-4"] = p(15, 75, 1.50, 18.75),
  ["anthropic:claude-sonnet-4-5"] = p(3, 15, 0.30, 3.75),
  ["anthropic:claude-sonnet-4-0"] = p(3, 15, 0.30, 3.75),
  ["anthropic:claude-sonnet-4"] = p(3, 15, 0.30, 3.75),
  ["anthropic:claude-3-7-sonnet"] = p(3, 15, 0.30, 3.75),
  ["anthropic:claude-haiku-4-5"] = p(1, 5, 0.10, 1.25),
  ["anthropic:claude-3-5-haiku"] = p(0.80, 4, 0.08, 1),
  ["openai:gpt-5"] = p(1.25, 10, 0.125),
  ["openai:gpt-5-mini"] = p(0.25, 2, 0.025),
  ["openai:gpt-5-nano"] = p(0.05, 0.40, 0.005),
  ["openai:gpt-4.1"] = p(2, 8, 0.50),
  ["openai:gpt-4.1-mini"] = p(0.40, 1.60, 0.10),
  ["openai:gpt-4.1-nano"] = p(0.10, 0.40, 0.025),
  ["openai:gpt-4o"] = p(2.50, 10, 1.25),
  ["openai:gpt-4o-mini"] = p(0.15, 0.60, 0.075),
  ["openai:o3"] = p(2, 8, 0.50),
  ["openai:o4-mini"] = p(1.10, 4.40, 0.275),
}

-- Providers whose calls cost nothing: a local server, scripted models.
M.free = { ollama = true, lua = true, test = true }

-- The price of `model` (a provider:model string), or nil when unknown.
-- A dated name ("claude-haiku-4-5-20251001", "gpt-4o-2024-08-06") has the
-- price of its undated one.
function M.of(model)
  local over = require("llmdo.config").current().prices or {}
  local function find(m) return over[m] or M.table[m] end
  local found = find(model)
  if found then return found end
  local provider = model:match("^([^:]+):") or model
  if M.free[provider] then return p(0, 0) end
  local undated = model:gsub("%-%d%d%d%d%-?%d%d%-?%d%d$", ""):gsub("%-latest$", "")
  return find(undated)
end

-- The dollars of one response's usage at `price`. Canonical usage counts
-- cached tokens inside input_tokens (docs/providers.md).
function M.cost(usage, price)
  if not usage or not price then return 0 end
  local cr, cw = usage.cache_read or 0, usage.cache_write or 0
  local plain = math.max(0, (usage.input_tokens or 0) - cr - cw)
  return (plain * price.input + cr * (price.cache_read or price.input) + cw * (price.cache_write or price.input)
    + (usage.output_tokens or 0) * price.output) / 1e6
end

-- "$1.25", "$0.0123", "$0.000350": enough digits to see a cheap run's cost.
function M.format(dollars)
  if dollars >= 1 then return string.format("$%.2f", dollars) end
  if dollars >= 0.01 then return string.format("$%.4f", dollars) end
  return string.format("$%.6f", dollars)
end

return M
