"""Where model files come from: Hugging Face (and its mirrors), ModelScope, or a local model directory."""
