-- make load: POST prebuilt JSON bodies, one per line of a file, each at most once.
-- Thread i of n takes lines i, i+n, i+2n, ... in order. When a thread has sent all its bodies its
-- connections fall idle and the thread stops once every answer is in (the run then says the
-- bodies ran out: wrk's rate divides by the whole duration and is understated).
-- args: PATH BODIES_FILE NTHREADS RESULT_FILE [AUTHORIZATION]
-- Every 2xx answer must carry "classroom":N and "date":"YYYY-MM-DD" (both endpoints do); the
-- result file lists them so the run can check the database against what was confirmed.
local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  local step = tonumber(args[3])
  result_path = args[4]
  bodies = {}
  local n = 0
  for line in io.lines(args[2]) do
    n = n + 1
    if (n - id) % step == 0 then bodies[#bodies + 1] = line end
  end
  wrk.headers["Content-Type"] = "application/json"
  if args[5] and args[5] ~= "" then wrk.headers["Authorization"] = args[5] end
  sent, answered, exhausted, nbodies = 0, 0, 0, #bodies
  statuses = {}
  confirmed = {}
end

function request()
  if bodies == nil then -- wrk checks request() once in its main state, before init()
    return wrk.format("POST", "/", nil, "{}")
  end
  if sent >= #bodies then
    exhausted = 1
    if answered >= sent then wrk.thread:stop() end
    return "" -- nothing to send: the connection waits idle
  end
  sent = sent + 1
  return wrk.format("POST", path, nil, bodies[sent])
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    local c = body:match('"classroom":%s*(%d+)') or "?"
    local d = body:match('"date":%s*"([%d%-]+)"') or "?"
    confirmed[#confirmed + 1] = c .. " " .. d .. " " .. status
  end
  if exhausted == 1 and answered >= sent then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local out = assert(io.open(threads[1]:get("result_path"), "w"))
  local e = summary.errors
  out:write(string.format("summary %d %d %d %d %d %d %d %d\n", summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout))
  out:write(string.format("latency %d %d %d %d %d\n", latency:percentile(50), latency:percentile(90),
    latency:percentile(99), math.floor(latency.mean), latency.max))
  for _, t in ipairs(threads) do
    out:write(string.format("thread %d %d %d %d %d\n", t:get("id"), t:get("nbodies"), t:get("sent"),
      t:get("answered"), t:get("exhausted")))
    for code, count in pairs(t:get("statuses")) do
      out:write(string.format("status %d %d\n", code, count))
    end
    for _, line in ipairs(t:get("confirmed")) do
      out:write("ok " .. line .. "\n")
    end
  end
  out:close()
end
