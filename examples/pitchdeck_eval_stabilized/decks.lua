-- list_pitchdecks: the deterministic part of the job. Which files are decks,
-- what their slugs are and where each report goes are rules, not judgement,
-- so Lua decides them and the model only follows the list.
local llmdo = require "llmdo"

local M = {}

function M.slug(name)
  local s = name:gsub("%.[Pp][Dd][Ff]$", ""):lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return s ~= "" and s or "deck"
end

M.decks = llmdo.toolset {
  tools = {
    list_pitchdecks = {
      description = "The pitch decks in input/: {file, slug, output_path} for each, sorted by file name",
      params = {},
      approval = "pre_approved",
      fn = function(_, ctx)
        local out = {}
        for _, name in ipairs(ctx:list_files("input", "*.[pP][dD][fF]")) do
          local slug = M.slug(name)
          out[#out + 1] = { file = "input/" .. name, slug = slug, output_path = "evaluations/" .. slug .. ".md" }
        end
        return llmdo.json.array(out)
      end,
    },
  },
}

return M
