"""Helpers shared by the test suite: the fake OpenAI-compatible server, CI-aware requirements, Docker helpers."""
