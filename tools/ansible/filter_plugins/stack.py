"""The stack role's filters: thin names over hymt.provision.stack (vLLM's settings for the host's GPUs)."""

from __future__ import annotations

from hymt.provision import stack


class FilterModule:
    def filters(self):
        return {"stack_vllm_settings": stack.settings_for_host}
