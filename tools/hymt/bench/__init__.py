"""`hymt bench`: load against a deployment's web API or vLLM's OpenAI API, and the figures vLLM's own benchmark
reports (throughput, time to first token, inter-token and end-to-end latency), per concurrency level."""

# The APIs `hymt bench` loads. Here, not beside the client (runner), so that the CLI names them without importing
# aiohttp, which every hymt command would otherwise pay for at its start.
APIS = ("web", "openai")
