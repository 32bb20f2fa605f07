-- Model settings: `model_settings` in a worker's frontmatter and
-- `runtime.model_settings` in project.lua (project defaults; a worker's
-- keys win). Checked when the project is linked: unknown keys, wrong
-- types, and settings the worker's provider does not take are errors
-- that name the key (and the provider).
local V = require "llmdo.validate"
local util = require "llmdo.util"

local M = {}

M.shape = V.record {
  max_tokens = V.integer { min = 1 },
  temperature = V.number { min = 0, max = 2 },
  top_p = V.number { min = 0, max = 1 },
  stop = V.list(V.string),
  seed = V.integer(),
  parallel_tool_calls = V.boolean,
  thinking = V.record({ budget_tokens = V.integer { min = 1024 } }, { required = { "budget_tokens" } }),
  reasoning_effort = V.enum { "low", "medium", "high" },
  cache = V.boolean,          -- Anthropic prompt caching (default on)
  allow_truncated = V.boolean, -- a final answer cut at max_tokens is a success
}

-- Keys the loop reads itself; every provider accepts them.
local loop_keys = { allow_truncated = true, cache = true }

-- The settings of worker `def` over the project's, checked against the
-- worker's provider. Returns the merged table (possibly empty).
function M.resolve(def, runtime_settings)
  local merged = util.shallow_copy(runtime_settings or {})
  for k, v in pairs(def.model_settings or {}) do merged[k] = v end
  local spec = def.model_spec
  if spec.api then
    local provider = require("llmdo.providers." .. spec.api)
    local supported = provider.supported_settings or {}
    for _, k in ipairs(util.sorted_keys(merged)) do
      if not loop_keys[k] and not supported[k] then
        local from = def.model_settings and def.model_settings[k] ~= nil and "model_settings." .. k
            or "runtime.model_settings." .. k
        util.fail("project", def.display .. ": " .. from .. " is not supported by provider '" .. spec.provider
          .. "' (" .. spec.string .. ")")
      end
    end
  end
  return merged
end

return M
