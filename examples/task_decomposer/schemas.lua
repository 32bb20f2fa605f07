local llmdo = require "llmdo"

local M = {}

M.PlannerInput = llmdo.schema {
  fields = {
    task = { type = "string", minLength = 1, description = "what to plan" },
    context = { type = "string", default = "", description = "the larger task this one belongs to" },
    remaining_depth = { type = "integer", minimum = 0, default = 2,
      description = "how many more levels of subtasks to plan; 0: do not split" },
  },
  prompt = function(a)
    local lines = { "Task: " .. a.task }
    if a.context ~= "" then lines[#lines + 1] = "Context: " .. a.context end
    lines[#lines + 1] = "Remaining depth: " .. a.remaining_depth
    return { table.concat(lines, "\n") }
  end,
}

return M
