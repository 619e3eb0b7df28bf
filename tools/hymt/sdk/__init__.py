"""The Python SDK: translate with Hunyuan-MT on any OpenAI-compatible server (vLLM), or through a deployed hymt
web app's /api (a public deployment, where vLLM itself is not exposed). Both clients offer the same `Translator`
interface.

    from hymt.sdk import ClientSettings, TranslationClient, WebSettings, WebTranslationClient

    with TranslationClient(ClientSettings(base_url="http://127.0.0.1:8000/v1")) as client:
        print(client.translate("Guten Morgen", "en").text)
        for piece in client.stream("早上好", "fr"):
            print(piece, end="", flush=True)

    with WebTranslationClient(WebSettings("https://mt.example.com")) as client:
        print(client.translate("Guten Morgen", "en").text)

Prompted features (a glossary, context, style, structured data), for the model families whose prompts have them:

    client.translate("Hunyuan is fast.", "zh", features=Features(glossary=(("Hunyuan", "混元"),)))

Every failure is a hymt.sdk.errors.HymtError with a message and a hint; a Features that cannot be sent as given raises
hymt.core.features.FeatureError (a ValueError) when it is made.
"""

from hymt.core.features import Features
from hymt.sdk.client import TranslationClient
from hymt.sdk.errors import (
    HymtError,
    InvalidRequest,
    ModelNotFound,
    NotAHymtApp,
    RateLimited,
    ServerUnreachable,
    StreamInterrupted,
    TextTooLong,
    Timeout,
    Unauthorized,
    UpstreamError,
)
from hymt.sdk.result import Translation, TranslationStream, Translator
from hymt.sdk.settings import ClientSettings, WebSettings
from hymt.sdk.web import WebInfo, WebTranslationClient

__all__ = [
    "ClientSettings",
    "Features",
    "HymtError",
    "InvalidRequest",
    "ModelNotFound",
    "NotAHymtApp",
    "RateLimited",
    "ServerUnreachable",
    "StreamInterrupted",
    "TextTooLong",
    "Timeout",
    "Translation",
    "TranslationClient",
    "TranslationStream",
    "Translator",
    "Unauthorized",
    "UpstreamError",
    "WebInfo",
    "WebSettings",
    "WebTranslationClient",
]
