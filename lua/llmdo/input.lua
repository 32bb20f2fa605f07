-- Input normalisation (features.md §4): what an entry or a worker call
-- receives, turned into schema args and prompt parts, and prompt parts
-- turned into a canonical user message.
local json = require "llmdo.core.json"
local fs = require "llmdo.core.fs"
local sys = require "llmdo.core.sys"
local util = require "llmdo.util"
local schema = require "llmdo.schema"
local V = require "llmdo.validate"

local M = {}

local Attachment = { __name = "llmdo.Attachment" }
Attachment.__index = Attachment
Attachment.__tostring = function(a) return "attachment(" .. a.path .. ")" end

function M.attachment(path)
  if type(path) ~= "string" or path == "" then error("llmdo.attachment: expected a path string", 2) end
  return setmetatable({ path = path }, Attachment)
end

function M.is_attachment(v) return getmetatable(v) == Attachment end

M.media_types = {
  pdf = "application/pdf", png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg",
  gif = "image/gif", webp = "image/webp",
}

local function check_parts(parts, kind)
  for _, p in ipairs(parts) do
    if type(p) ~= "string" and not M.is_attachment(p) then
      util.fail(kind, "Message list items must be strings or llmdo.attachment(path); got " .. util.describe(p))
    end
  end
  return parts
end

-- The prompt parts of schema args: the schema's prompt function, else
-- args.input (+ args.attachments), else the args as JSON.
function M.prompt_parts(s, args, kind)
  if s and s.prompt then
    local r = s.prompt(args)
    if type(r) == "string" then return { r } end
    if type(r) ~= "table" or not V.is_list(r) then
      util.fail(kind, "schema prompt function must return a string or a list of prompt parts")
    end
    return check_parts(r, kind)
  end
  if type(args.input) == "string" then
    local parts = { args.input }
    for _, p in ipairs(type(args.attachments) == "table" and args.attachments or {}) do
      parts[#parts + 1] = M.is_attachment(p) and p or M.attachment(tostring(p))
    end
    return parts
  end
  return { json.encode(args, "s") }
end

-- normalize(schema_in, data, kind) -> args|nil, parts
-- kind is the error kind: "input" for CLI input (exit 2), "run" inside a run.
function M.normalize(schema_in, data, kind)
  kind = kind or "run"
  if type(data) == "string" then return nil, { data } end
  if M.is_attachment(data) then return nil, { data } end
  local of = schema.schema_of(data)
  if of then
    if schema_in and of ~= schema_in then
      -- another schema object: the same file loaded twice (require), or a
      -- different schema. Its data decides.
      local ok = schema.validate(schema_in.json, data)
      if not ok then
        util.fail(kind, "Expected input for schema " .. (schema_in.name or "schema_in") .. "; got an instance of "
          .. (of.name or "another schema"))
      end
      of = schema_in
    end
    return data, M.prompt_parts(of, data, kind)
  end
  if type(data) == "table" then
    if #data > 0 and V.is_list(data) then return nil, check_parts(data, kind) end
    if schema_in then
      schema.fill_defaults(schema_in.json, data)
      local ok, err = schema.validate(schema_in.json, data)
      if not ok then util.fail(kind, "Invalid input: " .. err) end
      local args = schema.mark(schema_in, data)
      return args, M.prompt_parts(schema_in, args, kind)
    end
    if data.input == nil then util.fail(kind, "Input object must have an 'input' field") end
    if type(data.input) ~= "string" then
      util.fail(kind, "Input field 'input' must be a string, got " .. util.describe(data.input))
    end
    local parts = { data.input }
    local att = data.attachments
    if att ~= nil then
      if type(att) ~= "table" or not V.is_list(att) then
        util.fail(kind, "Input field 'attachments' must be a list of paths")
      end
      for _, p in ipairs(att) do
        if type(p) ~= "string" then util.fail(kind, "Input field 'attachments' must be a list of paths") end
        parts[#parts + 1] = M.attachment(p)
      end
    end
    return nil, parts
  end
  util.fail(kind, "Worker input must be a string, a list of prompt parts, a table with 'input', or a schema "
    .. "instance; got " .. util.describe(data))
end

-- The text of the parts, for events and logs: "(no input)" when blank.
function M.display_text(parts)
  local texts = {}
  for _, p in ipairs(parts) do
    if type(p) == "string" then texts[#texts + 1] = p end
  end
  local s = table.concat(texts, " ")
  if not s:match("%S") then return "(no input)" end
  return s
end

-- Marks a worker call whose input a model wrote (a worker used as a tool):
-- its attachments must stay beneath the allowed roots. Private to llmdo's
-- own Lua, so project code cannot pass it.
M.FROM_MODEL = setmetatable({}, { __name = "llmdo.FromModel" })

local function beneath(path, dir)
  return dir == "/" or path == dir or path:sub(1, #dir + 1) == dir .. "/"
end

-- Where attachments a model names may be: the project root and the
-- project's runtime.attachment_roots (relative ones from the root), each
-- as written and as its real path.
function M.attachment_roots(project)
  local roots = {}
  for _, r in ipairs { ".", table.unpack(project.runtime.attachment_roots or {}) } do
    local abs = util.abspath(r, project.root)
    roots[#roots + 1] = abs
    roots[#roots + 1] = sys.realpath(abs) or abs
  end
  return roots
end

-- The root of `roots` that holds `path`, or nil.
local function within(path, roots)
  for _, r in ipairs(roots) do
    if beneath(path, r) then return r end
  end
  return nil
end

M.ATTACHMENT_MAX = 32 * 1024 * 1024 -- the largest file a provider takes (Anthropic's PDFs)

-- The bytes of a confined attachment, read once, now, beneath its root
-- (openat2 RESOLVE_BENEATH, src/fs.c): a link swapped in later, while the
-- call goes on, cannot make a later turn send a file from outside.
local function read_beneath(real, root, shown)
  local rel = real == root and "." or real:sub(#root + (root == "/" and 1 or 2))
  local bytes, kind, msg = fs.read(root, rel, M.ATTACHMENT_MAX)
  if bytes then return bytes end
  if kind == "escape" then util.fail("permission", "Attachment outside the project root: " .. shown) end
  if kind == "too_large" then
    util.fail("run", "Attachment too large: " .. shown .. " (more than " .. M.ATTACHMENT_MAX // 1048576 .. " MiB)")
  end
  util.fail("run", "Attachment not readable: " .. shown .. " (" .. tostring(msg or kind) .. ")")
end

-- Resolves an attachment against the project root: the canonical part.
-- With `confine` (attachment_roots), the path must stay beneath one of
-- those roots, by its words and by its real path (no symlink out); an
-- escape is a permission error, told before whether the file exists.
function M.resolve_attachment(a, root, confine)
  local p = a.path
  if p:sub(1, 2) == "~/" then p = (os.getenv("HOME") or "") .. p:sub(2) end
  local abs = util.abspath(p, root)
  local function outside() util.fail("permission", "Attachment outside the project root: " .. a.path) end
  if confine and not within(abs, confine) then outside() end
  if sys.stat(abs) ~= "file" then util.fail("run", "Attachment not found: " .. abs) end
  local ext = (abs:match("%.([%w]+)$") or ""):lower()
  local mt = M.media_types[ext]
  if not mt then
    util.fail("run", "Unsupported attachment type: " .. abs .. " (supported: .pdf, .png, .jpg, .jpeg, .gif, .webp)")
  end
  local part = { type = "attachment", path = abs, media_type = mt }
  if confine then
    local real = sys.realpath(abs)
    local holder = real and within(real, confine)
    if not holder then outside() end
    part.path = real
    -- the bytes go with the part (not in it: messages are logged and copied)
    require("llmdo.providers.wire").pin(part, read_beneath(real, sys.realpath(holder) or holder, a.path))
  end
  return part
end

-- The canonical user message for prompt parts (confine: as resolve_attachment).
function M.user_message(parts, root, confine)
  local out = {}
  for _, p in ipairs(parts) do
    if type(p) == "string" then
      out[#out + 1] = { type = "text", text = p:match("%S") and p or "(no input)" }
    else
      out[#out + 1] = M.resolve_attachment(p, root, confine)
    end
  end
  if #out == 0 then out[1] = { type = "text", text = "(no input)" } end
  return { role = "user", parts = out }
end

return M
