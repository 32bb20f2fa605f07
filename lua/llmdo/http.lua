-- llmdo.http: HTTP for tool authors, on the curl multi handle and event
-- loop that carry model I/O, so only the calling task waits.
--
--   local r = llmdo.http.request { method = "POST", url = u, json = { q = 1 },
--                                  headers = { ["x-a"] = "b" }, timeout = 10 }
--   r.status, r.headers["content-type"], r.body, r:json()
--
-- Unlike model requests there are no automatic retries (a tool decides),
-- redirects are followed (at most 5, http and https only), and the request
-- carries only the headers given: no provider key, nothing logged. Tool
-- requests have their own admission queue (src/http.c), the size of the
-- model's (runtime.max_concurrent_requests): neither starves the other.
local http = require "llmdo.core.http"
local json = require "llmdo.core.json"
local E = require "llmdo.core.error"
local V = require "llmdo.validate"
local util = require "llmdo.util"

local M = {}

local DEFAULT_TIMEOUT = 30                -- seconds, the whole request
local DEFAULT_MAX_BYTES = 10 * 1024 * 1024
local MAX_BYTES = 64 * 1024 * 1024        -- http.c's own bound on a body
local MAX_TIMEOUT = 86400
local MAX_REDIRECTS = 5

local function fail(msg) util.fail("run", msg) end

local function timeout_shape(v, path)
  if type(v) ~= "number" or not (v > 0 and v <= MAX_TIMEOUT) then
    return path .. ": expected a positive number of seconds (at most " .. MAX_TIMEOUT .. "), got "
      .. (type(v) == "number" and tostring(v) or util.describe(v))
  end
end

-- RFC 9110 tokens: a header name or a method cannot smuggle in another line.
local TOKEN = "^[!#$%%&'*+%-.^_`|~%w]+$"

local function method_shape(v, path)
  if type(v) ~= "string" or not v:match(TOKEN) then
    return path .. ": expected a method name such as \"GET\", got "
      .. (type(v) == "string" and string.format("%q", v) or util.describe(v))
  end
end

local function url_shape(v, path)
  local err = V.string(v, path)
  if err then return err end
  local scheme = v:match("^(%a[%w+.-]*)://")
  if not scheme or (scheme:lower() ~= "http" and scheme:lower() ~= "https") then
    return path .. ": expected an http:// or https:// URL, got " .. string.format("%q", v)
  end
end

local function headers_shape(v, path)
  if type(v) ~= "table" then return path .. ": expected a table of name = value strings, got " .. util.describe(v) end
  for _, k in ipairs(util.sorted_keys(v)) do
    local p = V.key_path(path, k)
    if type(k) ~= "string" or not k:match(TOKEN) then
      return p .. ": expected a header name (letters, digits and !#$%&'*+-.^_`|~)"
    end
    local err = V.string(v[k], p)
    if err then return err end
    if v[k]:find("[\r\n%z]") then return p .. ": a header value cannot contain CR, LF or NUL" end
  end
end

local options = V.record({
  method = method_shape,
  url = url_shape,
  headers = headers_shape,
  body = V.string,
  json = V.any,
  timeout = timeout_shape,
  max_bytes = V.integer { min = 1, max = MAX_BYTES },
}, { required = { "url" } })

-- A URL as errors show it: no user:password@.
local function shown(url)
  return (url:gsub("^(%a[%w+.-]*://)[^/?#]*@", "%1"))
end

-- "name: value" lines of one response into a map of lowercase names;
-- repeated headers joined with ", ", folded lines continued.
local function parse_headers(text)
  local out, last = {}, nil
  for line in (text or ""):gmatch("[^\r\n]+") do
    local cont = line:match("^[ \t]+(.-)%s*$")
    if cont and last then
      out[last] = out[last] .. " " .. cont
    else
      local name, value = line:match("^([^:%s]+):%s*(.-)%s*$")
      if name then
        name = name:lower()
        out[name] = out[name] and out[name] .. ", " .. value or value
        last = name
      end
    end
  end
  return out
end

local Response = {}
Response.__index = Response
Response.__name = "llmdo.http.Response"

-- r:json(): the body decoded; an error when it is not JSON.
function Response:json()
  local ok, v = pcall(json.decode, self.body)
  if not ok then
    fail("llmdo.http: the response body is not JSON (status " .. tostring(self.status)
      .. (self.headers["content-type"] and ", content-type " .. self.headers["content-type"] or "")
      .. "): " .. tostring(E.is(v) and v.message or v))
  end
  return v
end

local function request(name, opts)
  if type(opts) ~= "table" then fail(name .. ": expected a table of options, got " .. util.describe(opts)) end
  local err = options(opts, "")
  if err then fail(name .. ": " .. err) end
  if opts.body ~= nil and opts.json ~= nil then fail(name .. ": give body or json, not both") end
  local has_body = opts.body ~= nil or opts.json ~= nil
  local method = (opts.method or (has_body and "POST" or "GET")):upper()
  if method == "HEAD" and has_body then fail(name .. ": a HEAD request has no body") end
  local headers, typed = {}, false
  for _, k in ipairs(util.sorted_keys(opts.headers or {})) do
    local v = opts.headers[k]
    typed = typed or k:lower() == "content-type"
    headers[#headers + 1] = v == "" and k .. ";" or k .. ": " .. v -- "k;" is curl's way to send it empty
  end
  local body = opts.body
  if opts.json ~= nil then
    local ok, text = pcall(json.encode, opts.json)
    if not ok then fail(name .. ": json: " .. tostring(E.is(text) and text.message or text)) end
    body = text
    if not typed then headers[#headers + 1] = "content-type: application/json" end
  end
  if body == nil and method == "POST" then body = "" end
  local timeout = opts.timeout or DEFAULT_TIMEOUT
  local max_bytes = math.tointeger(opts.max_bytes or DEFAULT_MAX_BYTES) -- 1e3 is an integer too
  local timeout_ms = math.ceil(timeout * 1000)
  local h <close> = http.request {
    url = opts.url, method = method, headers = headers, body = body,
    max_retries = 0, timeout_ms = timeout_ms, connect_timeout_ms = timeout_ms,
    max_bytes = max_bytes, redirects = MAX_REDIRECTS, pool = "tool", response_headers = true,
  }
  local status, text, why, kind = h:wait()
  if not status then
    if kind == "timeout" then
      why = string.format("timed out after %g s (timeout)", timeout)
    elseif kind == "too_big" then
      why = "the response body exceeds max_bytes (" .. max_bytes .. " bytes)"
    end
    fail(name .. " " .. method .. " " .. shown(opts.url) .. " failed: " .. why)
  end
  return setmetatable({ status = status, headers = parse_headers(h:headers()), body = text }, Response)
end

-- llmdo.http.request{ url=, method=, headers=, body= | json=, timeout=, max_bytes= }
function M.request(opts) return request("llmdo.http.request", opts) end

-- llmdo.http.get(url [, opts]): opts as request's, without url and method.
function M.get(url, opts)
  if opts ~= nil and type(opts) ~= "table" then
    fail("llmdo.http.get: expected a table of options, got " .. util.describe(opts))
  end
  local o = {}
  for k, v in pairs(opts or {}) do
    if k == "url" or k == "method" then
      fail("llmdo.http.get: " .. k .. ": unknown key (the URL is the first argument)")
    end
    o[k] = v
  end
  o.url = url
  return request("llmdo.http.get", o)
end

return M
