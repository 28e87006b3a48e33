-- The same load shape against GET /healthz: the framework's floor, measured in the same run.
function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\":%d,\"p50_us\":%d,\"p99_us\":%d,\"errors\":%d}\n",
    summary.requests, latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
