"""Model weights on a host: fetched from Hugging Face, a mirror or ModelScope, resumable, verified against the hub's
index, put in place only when complete (fetch); checked against their manifest (check). The CLI is hymt.cli.model."""
