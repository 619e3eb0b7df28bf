"""DeepL's API v2, as its clients use it: POST /v2/translate, GET /v2/languages, GET /v2/usage, and the glossaries
defined in the deployment (HYMT_GLOSSARIES_FILE): GET /v2/glossaries[/<id>[/entries]], and glossary_id on
/v2/translate. A glossary's id is its name in the file; glossaries are not created or deleted over the API.

The key comes as `Authorization: DeepL-Auth-Key <key>`. Language codes are DeepL's (case-insensitive): the model's
codes in capitals ("DE", "ZH-HANT", "YUE"), and DeepL's regional targets EN-GB, EN-US, PT-BR, PT-PT and ZH-HANS
mapped to the one English, Portuguese and Chinese the model writes. Errors are {"message"} with DeepL's statuses:
400 bad request, 403 key refused, 413 too large, 429 too many requests, 456 quota exceeded.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from hymt.core.features import NO_FEATURES
from hymt.core.languages import AUTO, LANGUAGES, UnknownLanguageError, get_language
from hymt_web.compat.service import NO_LIMIT, Compat, answer_errors, error_json, one, read_fields, refusal
from hymt_web.errors import GatewayError
from hymt_web.glossaries import Glossary
from hymt_web.translate import deployment_glossary

API = "deepl"
HOW = "Send it as 'Authorization: DeepL-Auth-Key <key>'."
# DeepL's regional targets: the model writes one English, one Portuguese, one (simplified) Chinese.
REGIONAL = {
    "EN-GB": ("en", "English (British)"),
    "EN-US": ("en", "English (American)"),
    "PT-BR": ("pt", "Portuguese (Brazilian)"),
    "PT-PT": ("pt", "Portuguese (European)"),
    "ZH-HANS": ("zh", "Chinese (simplified)"),
}
# The model's languages DeepL lists under another code as targets (its regional ones stand for them).
_TARGET_ONLY_REGIONAL = {"en": ("EN-GB", "EN-US"), "pt": ("PT-BR", "PT-PT"), "zh": ("ZH-HANS",)}
# DeepL's status for the gateway's where they differ: its 403 for a refused key, its 400 for a bad request.
_STATUSES = {401: 403, 422: 400}


def deepl_code(code: str) -> str:
    """The DeepL spelling of a core code; a source detected as traditional Chinese is DeepL's "ZH" too."""
    return "ZH" if code == "zh-Hant" else code.upper()


def detected(code: object) -> str:
    """What detected_source_language says: the DeepL code, or empty when the detector was unsure."""
    return "" if code == AUTO else deepl_code(str(code))


def core_code(code: str, name: str) -> str:
    """The core's code for a DeepL code; 400 naming the field when the model does not have the language."""
    regional = REGIONAL.get(code.strip().upper())
    if regional:
        return regional[0]
    try:
        return get_language(code).code
    except UnknownLanguageError:
        raise refusal(
            400,
            "unsupported_language",
            f"Value for '{name}' not supported: {code!r} is not a language this deployment's model translates; "
            f"GET /v2/languages?type={'target' if name == 'target_lang' else 'source'} lists the ones it does.",
        ) from None


def key_of(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    return (key.strip() or None) if scheme.lower() == "deepl-auth-key" else None


def error(failure: GatewayError) -> JSONResponse:
    return error_json({"message": failure.message}, failure, _STATUSES)


def languages(kind: str) -> list[dict[str, object]]:
    if kind == "source":
        names: dict[str, str] = {}
        for lang in LANGUAGES:
            names.setdefault(deepl_code(lang.code), lang.name_en)  # "ZH" is Chinese, of either script
        return [{"language": code, "name": name} for code, name in names.items()]
    found: list[dict[str, object]] = []
    for lang in LANGUAGES:
        codes = _TARGET_ONLY_REGIONAL.get(lang.code, (lang.code.upper(),))
        for code in codes:
            name = REGIONAL[code][1] if code in REGIONAL else lang.name_en
            found.append({"language": code, "name": name, "supports_formality": False})
    return found


def glossary_info(glossary: Glossary) -> dict[str, object]:
    """A glossary as DeepL describes one (its languages in DeepL's lower-case codes)."""
    return {
        "glossary_id": glossary.name,
        "name": glossary.name,
        "ready": True,
        "source_lang": glossary.source_lang.lower(),
        "target_lang": glossary.target_lang.lower(),
        "creation_time": glossary.created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "entry_count": len(glossary.entries),
    }


def find_glossary(compat: Compat, request: Request) -> Glossary:
    """The glossary the path names; DeepL's 404 when the deployment has none of that id."""
    glossary_id = request.path_params["glossary_id"]
    glossary = compat.settings.glossaries.get(glossary_id)
    if glossary is None:
        raise refusal(
            404, "glossary_not_found", f"No glossary {glossary_id!r} here; GET /v2/glossaries lists the ones there are."
        )
    return glossary


def glossaries_are_fixed() -> GatewayError:
    return refusal(
        403,
        "glossaries_fixed",
        "Glossaries cannot be created or deleted over this API: this deployment's glossaries are defined in its "
        "inventory (hymt_glossaries) by its operator. GET /v2/glossaries lists them.",
    )


def register(app: FastAPI, compat: Compat) -> None:
    @app.post("/v2/translate", include_in_schema=False)
    @answer_errors(error)
    async def deepl_translate(request: Request) -> Response:
        entry = compat.authenticate(request, key_of(request), HOW)
        fields = await read_fields(request)
        texts = fields.get("text", [])
        if not texts:
            raise refusal(400, "invalid_request", "Parameter 'text' not specified: give one or more texts.")
        target_lang = one(fields, "target_lang")
        if target_lang is None:
            raise refusal(400, "invalid_request", "Value for 'target_lang' not specified.")
        source_lang = one(fields, "source_lang")
        source = core_code(source_lang, "source_lang") if source_lang else AUTO
        target = core_code(target_lang, "target_lang")
        if fields.get("glossary_ids"):
            raise refusal(
                400,
                "invalid_request",
                "Multilingual glossaries (glossary_ids) are not served here; name one of GET /v2/glossaries with "
                "glossary_id.",
            )
        glossary_id = one(fields, "glossary_id")
        features = deployment_glossary(compat.settings, glossary_id, source, target) if glossary_id else NO_FEATURES
        results = await compat.translate(request, API, entry, texts, target, source, features)
        return JSONResponse(
            {
                "translations": [
                    {
                        "detected_source_language": detected(result["source"]),
                        "text": result["translation"],
                        "billed_characters": len(text),
                    }
                    for text, result in zip(texts, results, strict=True)
                ]
            }
        )

    @app.api_route("/v2/languages", methods=["GET", "POST"], include_in_schema=False)
    @answer_errors(error)
    async def deepl_languages(request: Request) -> Response:
        compat.authenticate(request, key_of(request), HOW)
        kind = (one(await read_fields(request), "type", "source") or "source").lower()
        if kind not in ("source", "target"):
            raise refusal(400, "invalid_request", "Value for 'type' not supported: give source or target.")
        return JSONResponse(languages(kind))

    @app.api_route("/v2/usage", methods=["GET", "POST"], include_in_schema=False)
    @answer_errors(error)
    async def deepl_usage(request: Request) -> Response:
        entry = compat.authenticate(request, key_of(request), HOW)
        limit = compat.usage.limit or NO_LIMIT
        return JSONResponse({"character_count": compat.usage.used(entry), "character_limit": limit})

    @app.api_route("/v2/glossaries", methods=["GET", "POST"], include_in_schema=False)
    @answer_errors(error)
    async def deepl_glossaries(request: Request) -> Response:
        compat.authenticate(request, key_of(request), HOW)
        if request.method == "POST":
            raise glossaries_are_fixed()
        return JSONResponse({"glossaries": [glossary_info(g) for g in compat.settings.glossaries.values()]})

    @app.api_route("/v2/glossaries/{glossary_id}", methods=["GET", "DELETE"], include_in_schema=False)
    @answer_errors(error)
    async def deepl_glossary(request: Request) -> Response:
        compat.authenticate(request, key_of(request), HOW)
        glossary = find_glossary(compat, request)
        if request.method == "DELETE":
            raise glossaries_are_fixed()
        return JSONResponse(glossary_info(glossary))

    @app.get("/v2/glossaries/{glossary_id}/entries", include_in_schema=False)
    @answer_errors(error)
    async def deepl_glossary_entries(request: Request) -> Response:
        compat.authenticate(request, key_of(request), HOW)
        entries = "".join(f"{source}\t{target}\n" for source, target in find_glossary(compat, request).entries)
        return PlainTextResponse(entries, media_type="text/tab-separated-values")
