-- wrk script for bench/run.sh.
--
-- BENCH_MODE=preflight  OPTIONS with Origin, Access-Control-Request-Method
--                       and Access-Control-Request-Headers (an allowed preflight)
-- BENCH_MODE=get        GET with Origin (an allowed actual CORS request)
-- BENCH_MODE=plain      GET without any CORS header (straight to the upstream)
--
-- done() prints one line that run.sh parses:
-- RESULT requests=N duration_us=N rps=F p50_us=N p99_us=N max_us=N
--        err_connect=N err_read=N err_write=N err_status=N err_timeout=N

local mode = os.getenv("BENCH_MODE") or "get"
local origin = os.getenv("BENCH_ORIGIN") or "https://app.example.com"

wrk.headers["Host"] = "api.example.com"
if mode == "preflight" then
  wrk.method = "OPTIONS"
  wrk.headers["Origin"] = origin
  wrk.headers["Access-Control-Request-Method"] = "PUT"
  wrk.headers["Access-Control-Request-Headers"] = "Content-Type, X-Request-ID"
elseif mode == "get" then
  wrk.method = "GET"
  wrk.headers["Origin"] = origin
else
  wrk.method = "GET"
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
