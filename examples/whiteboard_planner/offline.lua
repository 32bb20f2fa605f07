-- A scripted model for offline runs (--model lua:offline), for both workers.
-- The planner cannot see: it reports the image it was given (type and size,
-- read from the PNG header) and lays out the plan a real model would fill.
local llmdo = require "llmdo"

local M = {}

local function png_size(path)
  local f = assert(io.open(path, "rb"))
  local head = f:read(24)
  f:close()
  if not head or head:sub(1, 8) ~= "\137PNG\r\n\26\n" then return nil end
  return string.unpack(">I4", head, 17), string.unpack(">I4", head, 21)
end

local function plan(req)
  local image
  for _, p in ipairs(req.messages[1].parts) do
    if p.type == "attachment" and p.media_type:match("^image/") then image = p end
  end
  if not image then return { text = "No whiteboard photo was attached." } end
  local w, h = png_size(image.path)
  local name = image.path:match("([^/]+)%.%w+$")
  return { text = table.concat({
    "# Plan: " .. name:gsub("-", " "),
    "",
    string.format("Source: %s (%s, %sx%s pixels)", image.path:match("[^/]+$"), image.media_type, w or "?", h or "?"),
    "",
    "## Goal", "", "Ship what the board shows, in the order it shows it.",
    "",
    "## Milestones", "", "1. The first sticky note", "2. The second sticky note", "3. The third sticky note",
    "",
    "## Open questions", "", "- Owners and dates (the offline model cannot read the notes)",
    "",
  }, "\n") }
end

local function plan_calls(photos)
  local calls = {}
  for i, photo in ipairs(photos) do
    local args = { input = "Turn this whiteboard into a plan.", attachments = { photo } }
    calls[i] = { name = "whiteboard_planner", args = args }
  end
  return { tool_calls = calls }
end

M.offline = llmdo.model(function(req)
  if req.worker == "whiteboard_planner" then return plan(req) end
  local last = req.messages[#req.messages]
  if last.role == "user" then -- the photo the user names, or all of them
    local photo = last.parts[1].text:match("[%w_/.-]+%.png")
    if photo then return plan_calls({ photo }) end
    return { tool_calls = { { name = "list_files", args = { path = "input", pattern = "*.png" } } } }
  end
  local r = last.parts[1]
  if r.name == "list_files" then
    local photos = {}
    for i, f in ipairs(llmdo.json.decode(r.content)) do photos[i] = "input/" .. f end
    return plan_calls(photos)
  end
  if r.name == "whiteboard_planner" then
    local calls = {}
    for i, p in ipairs(last.parts) do
      local photo = req.messages[#req.messages - 1].parts[i].args.attachments[1]
      calls[i] = { name = "write_file",
        args = { path = "plans/" .. photo:match("([^/]+)%.%w+$") .. ".md", content = p.content } }
    end
    return { tool_calls = calls }
  end
  local paths = {}
  for i, call in ipairs(req.messages[#req.messages - 1].parts) do paths[i] = call.args.path end
  return { text = table.concat(paths, "\n") }
end)

return M
