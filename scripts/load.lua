-- Quire's mixed load for wrk (run by scripts/load.py): per 20 requests, 8 post lists (some
-- filtered by tag), 6 post reads, 3 tag lists and 3 authenticated post creations.
-- Reads $LOAD_TOKENS, $LOAD_SLUGS and $LOAD_TAGS (comma-separated); `done` prints one line.

local MIX = {
  "list", "detail", "list", "create", "tags", "detail", "list", "detail", "list", "create",
  "list", "detail", "tags", "list", "detail", "create", "list", "detail", "tags", "list",
}

local threads = {}
local tokens, slugs, tags = {}, {}, {}
local counter = 0
statuses = {}

local function split(text)
  local items = {}
  for item in string.gmatch(text or "", "[^,]+") do
    items[#items + 1] = item
  end
  return items
end

local function pick(items)
  return items[math.random(#items)]
end

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

function init(args)
  tokens = split(os.getenv("LOAD_TOKENS"))
  slugs = split(os.getenv("LOAD_SLUGS"))
  tags = split(os.getenv("LOAD_TAGS"))
  math.randomseed(thread_number * 7919)
end

local function create()
  local body = string.format(
    '{"title":"Load %d %d","content":"Written under load.","tags":["%s","%s"],"published":true}',
    thread_number, counter, pick(tags), pick(tags))
  local headers = { ["Content-Type"] = "application/json" }
  headers["Authorization"] = "Bearer " .. tokens[counter % #tokens + 1]
  return wrk.format("POST", "/api/v1/posts", headers, body)
end

function request()
  counter = counter + 1
  local kind = MIX[counter % #MIX + 1]
  if kind == "list" and counter % 3 == 0 then
    return wrk.format("GET", "/api/v1/posts?limit=20&tag=" .. pick(tags))
  elseif kind == "list" then
    return wrk.format("GET", "/api/v1/posts?limit=20")
  elseif kind == "detail" then
    return wrk.format("GET", "/api/v1/posts/" .. pick(slugs))
  elseif kind == "tags" then
    return wrk.format("GET", "/api/v1/tags")
  end
  return create()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    parts[#parts + 1] = status .. ":" .. count
  end
  local errors = summary.errors
  io.write(string.format(
    "load-result requests=%d connect=%d read=%d write=%d timeout=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d statuses=%s\n",
    summary.requests, errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    table.concat(parts, ",")))
end
