"""`hymt bench`: load against a deployment's web API or vLLM's OpenAI API, and the figures vLLM's own benchmark
reports (throughput, time to first token, inter-token and end-to-end latency), per concurrency level."""
