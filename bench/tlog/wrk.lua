-- wrk script for bench/tlog: each connection POSTs distinct hashedrekord entries read from BENCH_BODIES
-- (one JSON body per line), split between wrk's threads; done() prints the figures as one JSON line.
local bodies = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(args[1]) or 1
  local i = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if i % n == id then table.insert(bodies, line) end
    i = i + 1
  end
  next_body = 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local b = bodies[next_body]
  if b == nil then
    b = bodies[1]
  end
  next_body = next_body + 1
  return wrk.format("POST", "/api/v1/log/entries", nil, b)
end

function done(summary, latency, requests)
  io.write(string.format('{"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Ms":%.2f,"p95Ms":%.2f,"p99Ms":%.2f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
