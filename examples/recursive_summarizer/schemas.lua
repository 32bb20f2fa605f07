-- The summarizer's input: a window of characters of one file. As a tool,
-- the worker offers these fields as its parameters; the prompt function
-- turns an instance into the text the model reads.
local llmdo = require "llmdo"

local M = {}

M.SummarizerInput = llmdo.schema {
  fields = {
    path = { type = "string", minLength = 1, description = "a text file of the project" },
    start = { type = "integer", minimum = 0, default = 0, description = "first character of the window" },
    ["end"] = { type = "integer", minimum = 1, optional = true,
      description = "character after the window (default: the end of the file)" },
  },
  prompt = function(a)
    return { string.format("Summarize %s from character %d to %s.", a.path, a.start,
      a["end"] and ("character " .. a["end"]) or "the end of the file") }
  end,
}

return M
