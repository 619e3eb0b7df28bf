"""The model role's filters: thin names over hymt.provision.model."""

from __future__ import annotations

from hymt.provision import model


class FilterModule:
    def filters(self):
        return {"model_tool_message": model.tool_message, "model_tool_summary": model.tool_summary}
