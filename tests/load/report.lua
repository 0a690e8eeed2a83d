-- wrk script of tests/load/benchmark_pages.py: counts the answers by status, and the 200s that lack the
-- page's marker text (the first script argument), in every thread; at the end prints one line
-- "WRK_JSON {...}" with the totals, socket errors and latency percentiles (microseconds).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  marker = args[1] or ""
  statuses = {}
  missing = 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 and marker ~= "" and not string.find(body, marker, 1, true) then
    missing = missing + 1
  end
end

function done(summary, latency, requests)
  local counts, missing_total = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    missing_total = missing_total + thread:get("missing")
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"non_2xx_3xx": %d, "timeout": %d, "missing_marker": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, missing_total, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, table.concat(parts, ", ")))
end
