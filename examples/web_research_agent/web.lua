-- The web tools, on llmdo.http: requests wait in the calling task only, so
-- fetch_pages fetches its pages at once (ctx:map) while the rest of the run
-- goes on. Search is the Brave Search API; SEARCH_API_BASE_URL points it at
-- another server that speaks the same API.
local llmdo = require "llmdo"

local M = {}

-- "Lighthouses: A B_c!" -> "lighthouses-a-b-c"
function M.slug(s)
  local out = s:lower():gsub("[^%w]+", "-"):sub(1, 60):gsub("^%-+", ""):gsub("%-+$", "")
  return out ~= "" and out or "report"
end

local function query_escape(s)
  return (s:gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = " " }

-- The readable text of an HTML page (a crude extraction: good enough for a
-- model, which needs words, not layout) and its title.
function M.html_text(html)
  local title = html:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>(.-)</") or ""
  local body = html:gsub("<!%-%-.-%-%->", " ")
  for _, tag in ipairs({ "script", "style", "head", "nav", "footer" }) do
    body = body:gsub("<" .. tag .. "[^>]*>.-</" .. tag .. ">", " ")
  end
  body = body:gsub("</?[Pp]>", "\n"):gsub("<[^>]*>", " ")
  local function decode(s)
    return (s:gsub("&(#?%w+);", function(e)
      local n = e:match("^#(%d+)$")
      return n and utf8.char(tonumber(n)) or ENTITIES[e]
    end))
  end
  body = decode(body):gsub("[ \t\r]+", " "):gsub(" ?\n[ \n]*", "\n"):gsub("^%s+", ""):gsub("%s+$", "")
  return decode(title), body
end

local MAX_TEXT = 6000

local function fetch(url)
  local ok, r = pcall(llmdo.http.get, url, { timeout = 20, max_bytes = 2 * 1024 * 1024,
    headers = { accept = "text/html, text/plain;q=0.9" } })
  if not ok then return { url = url, error = tostring(r) } end
  if r.status ~= 200 then return { url = url, error = "status " .. r.status } end
  local title, text = url, r.body
  if (r.headers["content-type"] or ""):find("html") then title, text = M.html_text(r.body) end
  return { url = url, title = title, text = text:sub(1, MAX_TEXT), truncated = #text > MAX_TEXT }
end

M.web = llmdo.toolset {
  description = "Web search, page fetching and saving reports",
  tools = {
    search_web = {
      description = "Search the web; returns [{title, url, snippet}]",
      params = { query = "string", count = { type = "integer", minimum = 1, maximum = 10, default = 5 } },
      approval = "pre_approved",
      timeout = 30,
      fn = function(args)
        local key = os.getenv("BRAVE_API_KEY")
        if not key or key == "" then error("BRAVE_API_KEY is not set (the Brave Search API's key)") end
        local base = os.getenv("SEARCH_API_BASE_URL") or "https://api.search.brave.com"
        local r = llmdo.http.get(base .. "/res/v1/web/search?q=" .. query_escape(args.query) .. "&count=" .. args.count,
          { headers = { accept = "application/json", ["x-subscription-token"] = key }, timeout = 20 })
        if r.status == 429 then llmdo.retry("the search API is rate limited; search again in a moment") end
        if r.status ~= 200 then error("search API: status " .. r.status .. ": " .. r.body:sub(1, 200)) end
        local out = {}
        for _, hit in ipairs((r:json().web or {}).results or {}) do
          out[#out + 1] = { title = hit.title, url = hit.url, snippet = hit.description }
        end
        return llmdo.json.array(out)
      end,
    },
    fetch_pages = {
      description = "Fetch web pages at once; returns [{url, title, text}] or [{url, error}] per page, in order",
      params = { urls = { type = "array", items = { type = "string", pattern = "^https?://" }, minItems = 1,
        maxItems = 8 } },
      approval = "pre_approved",
      timeout = 60,
      fn = function(args, ctx) return ctx:map(args.urls, fetch) end,
    },
    save_report = {
      description = "Save a Markdown report as reports/<slug of title>.md; returns the path",
      params = { title = "string", markdown = "string" },
      -- no approval given: it needs one
      describe = function(args) return "Save a report of " .. #args.markdown .. " chars to reports/"
        .. M.slug(args.title) .. ".md" end,
      fn = function(args, ctx)
        local path = "reports/" .. M.slug(args.title) .. ".md"
        ctx:write_file(path, args.markdown)
        return path
      end,
    },
  },
}

return M
