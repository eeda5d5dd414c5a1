-- wrk script for make bench: POSTs one request body and prints a JSON
-- summary line ("BENCH {...}") that t/bench/bench.pl parses.
--
-- Settings come from the environment (wrk decides whether a script builds
-- each request itself before it passes script arguments):
--   BENCH_BODY        file holding the request body (required)
--   BENCH_TOKEN       caller token: "Authorization: Bearer <token>"
--   BENCH_KEYS        N > 0: every request uses a different caller token
--                     from a key table of N deterministic tokens:
--                     sk-sluice-<BENCH_KEY_PREFIX><i as hex, padded to
--                     12 chars>-<BENCH_KEY_SECRET>, i random in 1..N
--   BENCH_KEY_PREFIX  first characters of the public id (hex)
--   BENCH_KEY_SECRET  the 64 hex chars every bench token ends with

local body_file = os.getenv("BENCH_BODY")
local token = os.getenv("BENCH_TOKEN")
local nkeys = tonumber(os.getenv("BENCH_KEYS") or "0") or 0
local prefix = os.getenv("BENCH_KEY_PREFIX") or ""
local secret = os.getenv("BENCH_KEY_SECRET") or ""

local f = assert(io.open(body_file, "rb"), "cannot open BENCH_BODY")
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
if token and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end

if nkeys > 0 then
   local idfmt = "%0" .. (12 - #prefix) .. "x"
   local headers = {}

   init = function(args)
      math.randomseed(os.time() + math.floor(os.clock() * 1e6))
      for k, v in pairs(wrk.headers) do headers[k] = v end
   end

   request = function()
      local i = math.random(1, nkeys)
      headers["Authorization"] = "Bearer sk-sluice-" .. prefix
         .. string.format(idfmt, i) .. "-" .. secret
      return wrk.format(nil, nil, headers, nil)
   end
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"err_connect":%d,"err_read":%d,"err_write":%d,'
      .. '"err_status":%d,"err_timeout":%d,'
      .. '"lat_mean_us":%.2f,"lat_p50_us":%d,"lat_p90_us":%d,'
      .. '"lat_p99_us":%d,"lat_max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end
