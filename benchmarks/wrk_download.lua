-- wrk script of the download benchmark (benchmarks/bench_download.py).
-- Sends X-Authorization when WRK_AUTH is set, and prints the run's counts, errors and latency
-- distribution (every request's latency, in microseconds) as one JSON line marked WRK_JSON.
-- It defines no response() callback on purpose: with one, wrk copies every body into a buffer,
-- and for 25 MB bodies the load generator would become the bottleneck.

local auth = os.getenv("WRK_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["X-Authorization"] = auth
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
