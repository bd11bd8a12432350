-- make load: GET one page with a rotating session cookie (one logged-in user per request, round robin).
-- args: PATH COOKIE_NAME RESULT_FILE SESSION_KEY[,SESSION_KEY...]
local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  path, cookie_name, result_path = args[1], args[2], args[3]
  keys = {}
  for key in string.gmatch(args[4], "[^,]+") do keys[#keys + 1] = key end
  next_key, answered = id - 1, 0
  statuses = {}
end

function request()
  if keys == nil then -- wrk checks request() once in its main state, before init()
    return wrk.format("GET", "/")
  end
  next_key = next_key % #keys + 1
  wrk.headers["Cookie"] = cookie_name .. "=" .. keys[next_key]
  return wrk.format("GET", path)
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local out = assert(io.open(threads[1]:get("result_path"), "w"))
  local e = summary.errors
  out:write(string.format("summary %d %d %d %d %d %d %d %d\n", summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout))
  out:write(string.format("latency %d %d %d %d %d\n", latency:percentile(50), latency:percentile(90),
    latency:percentile(99), math.floor(latency.mean), latency.max))
  for _, t in ipairs(threads) do
    out:write(string.format("thread %d 0 %d %d 0\n", t:get("id"), t:get("answered"), t:get("answered")))
    for code, count in pairs(t:get("statuses")) do
      out:write(string.format("status %d %d\n", code, count))
    end
  end
  out:close()
end
