"""Pipeline benchmark: latency to the worklist and triage throughput."""
