"""hymt-deploy: deploy, rehearse and verify a Hunyuan-MT translation service on vLLM."""

__version__ = "0.1.0"
