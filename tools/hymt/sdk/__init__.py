"""The Python SDK: translate with Hunyuan-MT on any OpenAI-compatible server (vLLM).

    from hymt.sdk import ClientSettings, TranslationClient

    with TranslationClient(ClientSettings(base_url="http://127.0.0.1:8000/v1")) as client:
        print(client.translate("Guten Morgen", "en").text)
        for piece in client.stream("早上好", "fr"):
            print(piece, end="", flush=True)

Every failure is a hymt.sdk.errors.HymtError with a message and a hint.
"""

from hymt.sdk.client import TranslationClient
from hymt.sdk.errors import (
    HymtError,
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    ServerUnreachable,
    StreamInterrupted,
    Timeout,
    Unauthorized,
    UpstreamError,
)
from hymt.sdk.result import Translation, TranslationStream, Translator
from hymt.sdk.settings import ClientSettings

__all__ = [
    "ClientSettings",
    "HymtError",
    "InvalidRequest",
    "ModelNotFound",
    "RateLimited",
    "ServerUnreachable",
    "StreamInterrupted",
    "Timeout",
    "Translation",
    "TranslationClient",
    "TranslationStream",
    "Translator",
    "Unauthorized",
    "UpstreamError",
]
