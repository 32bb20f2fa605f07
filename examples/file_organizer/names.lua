-- propose_names: the deterministic half of the job. A model is good at
-- deciding what to do and bad at applying a naming rule the same way twice,
-- so the rule lives here: lower case, words joined by "-", a date in front
-- when the name has one, the extension kept, no two files on one name.
local llmdo = require "llmdo"

local M = {}

local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7, aug = 8, sep = 9, oct = 10,
  nov = 11, dec = 12 }

-- "Scan 2026_03_07 receipt" or "receipt 07.03.2026" -> "2026-03-07", and the rest of the name
local function take_date(stem)
  local y, m, d = stem:match("(%d%d%d%d)[-_. ](%d%d)[-_. ](%d%d)")
  if y then return string.format("%s-%s-%s", y, m, d), (stem:gsub("%d%d%d%d[-_. ]%d%d[-_. ]%d%d", " ", 1)) end
  d, m, y = stem:match("(%d%d)[-_. ](%d%d)[-_. ](%d%d%d%d)")
  if y then return string.format("%s-%s-%s", y, m, d), (stem:gsub("%d%d[-_. ]%d%d[-_. ]%d%d%d%d", " ", 1)) end
  for word in stem:gmatch("%a+") do
    local month = MONTHS[word:sub(1, 3):lower()]
    local year = stem:match("%f[%d](20%d%d)%f[%D]")
    if month and year and #word >= 3 then
      return string.format("%s-%02d", year, month), (stem:gsub(word, " ", 1):gsub(year, " ", 1))
    end
  end
  return nil, stem
end

function M.clean(name)
  local stem, ext = name:match("^(.+)%.(%w+)$")
  if not stem then stem, ext = name, nil end
  local date, rest = take_date(stem)
  local words = {}
  for w in rest:lower():gsub("(%l)(%u)", "%1 %2"):gmatch("[%w]+") do
    if not (w == "copy" or w == "final" or w:match("^v%d+$")) then words[#words + 1] = w end
  end
  if #words == 0 then words = { "file" } end
  local out = (date and date .. "-" or "") .. table.concat(words, "-")
  return ext and out .. "." .. ext:lower() or out
end

M.names = llmdo.toolset {
  description = "Deterministic file naming",
  tools = {
    propose_names = {
      description = "Clean names for a folder's files: {old = new}, unique, with a date first when there is one",
      params = { files = "string[]" },
      approval = "pre_approved",
      fn = function(args)
        local out, taken, files = {}, {}, {}
        for i, f in ipairs(args.files) do files[i] = f end
        table.sort(files)
        for _, f in ipairs(files) do taken[f] = true end
        for _, f in ipairs(files) do
          local new = M.clean(f)
          if new ~= f then
            local base, ext = new:match("^(.-)(%.%w+)$")
            base, ext = base or new, ext or ""
            local n = 1
            while taken[new] do
              n = n + 1
              new = base .. "-" .. n .. ext
            end
            taken[new] = true
          end
          out[f] = new
        end
        return out
      end,
    },
  },
}

return M
