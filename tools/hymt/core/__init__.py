"""The translation core: languages, prompts, sampling, source detection and chunking.

One source of truth, imported by the SDK, the CLI, the web gateway and the smoke tool.
"""
