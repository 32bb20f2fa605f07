-- The data tools. Each tool says how it is approved: the two that only read
-- and compute are pre-approved; send_notification gives no approval, so it
-- takes the secure default and needs one (asked in prompt mode, refused by
-- --reject-all, allowed by --approve-all).
local llmdo = require "llmdo"

local M = {}

local function split(line)
  local out = {}
  for field in (line .. ","):gmatch("([^,]*),") do out[#out + 1] = field end
  return out
end

local function round(x) return math.floor(x * 100 + 0.5) / 100 end

M.data_tools = llmdo.toolset {
  description = "Load CSV files, compute statistics, notify a channel",
  tools = {
    load_csv = {
      description = "Read a CSV file of the project (first line: column names)",
      params = { path = "string" },
      approval = "pre_approved",
      fn = function(args, ctx)
        local text = ctx:read_file(args.path)
        local header, rows = nil, {}
        for line in text:gmatch("[^\r\n]+") do
          if not header then
            header = split(line)
          else
            local row = {}
            for i, v in ipairs(split(line)) do row[header[i] or ("column" .. i)] = tonumber(v) or v end
            rows[#rows + 1] = row
          end
        end
        if not header then llmdo.retry(args.path .. " is empty") end
        return { columns = header, rows = rows }
      end,
    },
    calculate_stats = {
      description = "Count, sum, mean, median, minimum and maximum of a list of numbers",
      params = { values = "number[]" },
      approval = "pre_approved",
      fn = function(args)
        local v = args.values
        if #v == 0 then llmdo.retry("values is empty") end
        local sorted, sum = {}, 0
        for i, x in ipairs(v) do sorted[i], sum = x, sum + x end
        table.sort(sorted)
        local mid = #sorted // 2
        local median = #sorted % 2 == 1 and sorted[mid + 1] or (sorted[mid] + sorted[mid + 1]) / 2
        return { count = #v, sum = sum, mean = round(sum / #v), median = median,
          min = sorted[1], max = sorted[#sorted] }
      end,
    },
    send_notification = {
      description = "Post a message to a team channel",
      params = { channel = { type = "string", pattern = "^#[a-z0-9_-]+$" }, message = "string" },
      -- no `approval`: it needs one. The prompt shows this line:
      describe = function(args) return "Notify " .. args.channel .. ": " .. args.message end,
      fn = function(args, ctx)
        -- Delivery is a line in outbox/notifications.jsonl; put your chat
        -- webhook here (llmdo.http.request { url = ..., json = {...} }).
        local path = "outbox/notifications.jsonl"
        local ok, old = pcall(ctx.read_file, ctx, path)
        ctx:write_file(path, (ok and old or "") .. llmdo.json.encode(args, "s") .. "\n")
        return "sent to " .. args.channel
      end,
    },
  },
}

return M
