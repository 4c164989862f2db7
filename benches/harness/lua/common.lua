-- Shared by the harness's wrk scripts (prepended to each): prints wrk's results as one line
-- of JSON, prefixed with BENCHJSON, for the harness to read. A script that keeps its own
-- figures defines extra_json(), returning more members as JSON text (without braces).

local threads = {}

-- Each thread learns its number, from 1, as the global thread_index.
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

function done(summary, latency, requests)
  local e = summary.errors
  local extra = ""
  if extra_json then
    extra = "," .. extra_json(threads, summary)
  end
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}%s}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, extra))
end
