"""The stack role's filters: thin names over hymt.provision.stack (vLLM's settings for the host's GPUs) and
hymt.provision.stack_release (whether a release's path on the host differs from what the role would make it)."""

from __future__ import annotations

from hymt.provision import stack, stack_release


class FilterModule:
    def filters(self):
        return {
            "stack_vllm_settings": stack.settings_for_host,
            "stack_differs": stack_release.differs,
        }
