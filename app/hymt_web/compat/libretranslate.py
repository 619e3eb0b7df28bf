"""LibreTranslate's API, as its clients use it: POST /translate, GET /languages, POST /detect.

The key comes in the `api_key` field. Language codes are the model's ("en", "zh", "zh-Hant"; "zh-Hans" is taken for
"zh"), and "auto" as the source. `q` is one text or a list of them, answered alike. `format` may be text or html: html
goes to the model as it is (it keeps tags as it was trained to, unchecked). Errors are {"error"} with LibreTranslate's
statuses: 400 bad request, 403 key refused, 429 too many requests.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from hymt.core.detect import detect_language
from hymt.core.languages import AUTO, LANGUAGES, UnknownLanguageError, normalize_code
from hymt_web.access import AccessKey
from hymt_web.compat.service import Compat, Fields, answer_errors, error_json, one, read_fields, refusal
from hymt_web.errors import GatewayError

API = "libretranslate"
HOW = "Send it in the 'api_key' field."
FORMATS = ("text", "html")
# The core's detector names one language without a score; LibreTranslate's clients expect one (0-100).
CONFIDENCE = 90.0
ALIASES = {"zh-hans": "zh"}
_STATUSES = {401: 403, 422: 400, 456: 429}


def core_code(code: str, name: str) -> str:
    try:
        return normalize_code(ALIASES.get(code.strip().lower(), code), allow_auto=name == "source")
    except UnknownLanguageError:
        raise refusal(
            400,
            "unsupported_language",
            f"{code!r} ({name}) is not a language this deployment's model translates; GET /languages lists the ones "
            "it does.",
        ) from None


def error(failure: GatewayError) -> JSONResponse:
    return error_json({"error": failure.message}, failure, _STATUSES)


def detected(code: object) -> dict[str, object]:
    return {"confidence": 0.0 if code == AUTO else CONFIDENCE, "language": code}


def register(app: FastAPI, compat: Compat) -> None:
    async def keyed(request: Request) -> tuple[Fields, AccessKey]:
        fields = await read_fields(request)
        return fields, compat.authenticate(request, one(fields, "api_key"), HOW)

    @app.post("/translate", include_in_schema=False)
    @answer_errors(error)
    async def libretranslate_translate(request: Request) -> Response:
        fields, entry = await keyed(request)
        texts = fields.get("q", [])
        if not texts:
            raise refusal(400, "invalid_request", "Invalid request: missing q parameter.")
        many = len(texts) > 1 or "q" in fields.lists
        target = one(fields, "target")
        if target is None:
            raise refusal(400, "invalid_request", "Invalid request: missing target parameter.")
        kind = one(fields, "format", "text")
        if kind not in FORMATS:
            raise refusal(400, "invalid_request", f"Invalid request: format must be {' or '.join(FORMATS)}.")
        source = core_code(one(fields, "source", AUTO) or AUTO, "source")
        results = await compat.translate(request, API, entry, texts, core_code(target, "target"), source)
        translated = [result["translation"] for result in results]
        answer: dict[str, object] = {"translatedText": translated if many else translated[0]}
        if source == AUTO:
            found = [detected(result["source"]) for result in results]
            answer["detectedLanguage"] = found if many else found[0]
        return JSONResponse(answer)

    @app.api_route("/languages", methods=["GET", "POST"], include_in_schema=False)
    async def libretranslate_languages() -> Response:
        codes = [lang.code for lang in LANGUAGES]
        return JSONResponse(
            [
                {"code": lang.code, "name": lang.name_en, "targets": [c for c in codes if c != lang.code]}
                for lang in LANGUAGES
            ]
        )

    @app.post("/detect", include_in_schema=False)
    @answer_errors(error)
    async def libretranslate_detect(request: Request) -> Response:
        fields, _entry = await keyed(request)
        text = one(fields, "q")
        if text is None:
            raise refusal(400, "invalid_request", "Invalid request: missing q parameter.")
        code = detect_language(text)
        return JSONResponse([] if code == AUTO else [detected(code)])
