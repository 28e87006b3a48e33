-- The same load shape against GET /healthz: the framework's floor, measured in the same run.
function done(summary, latency, requests)
  io.write(string.format(
    "JSON {\"requests\":%d,\"p50_us\":%d,\"p99_us\":%d,\"non_2xx\":%d,\"timeouts\":%d,\"socket_errors\":%d}\n",
    summary.requests, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.timeout, summary.errors.connect + summary.errors.read + summary.errors.write))
end
