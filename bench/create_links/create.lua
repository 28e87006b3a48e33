-- POST /api/v1/links with a new URL each time, rotating over many accounts' keys so
-- every request does auth, quota, validation and insert under the real plan limits.
local keys = {}
for line in io.lines(os.getenv("KLIQS_BENCH_KEYS")) do keys[#keys + 1] = line end
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function request()
  counter = counter + 1
  local key = keys[((counter * 7 + tid) % #keys) + 1]
  local body = '{"url":"https://toko.example/produk/' .. tid .. '-' .. counter .. '","title":"Produk ' .. counter .. '"}'
  return wrk.format("POST", "/api/v1/links",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    "JSON {\"requests\":%d,\"p50_us\":%d,\"p99_us\":%d,\"non_2xx\":%d,\"timeouts\":%d,\"socket_errors\":%d}\n",
    summary.requests, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.timeout, summary.errors.connect + summary.errors.read + summary.errors.write))
end
