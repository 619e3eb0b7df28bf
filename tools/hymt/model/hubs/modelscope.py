"""ModelScope (modelscope.cn, the usual source in mainland China) through its HTTP API, with requests.

The calls are those of ModelScope's own client (its `modelscope.hub.api`), which documents them:
  GET /api/v1/models/{id}/revisions                                  branches and tags
  GET /api/v1/models/{id}/commits?Ref={revision}&PageSize=1          the commit a branch or tag points to
  GET /api/v1/models/{id}/repo/files?Revision={revision}&Recursive=True   every file with its size and SHA-256
  GET /api/v1/models/{id}/repo?Revision={revision}&FilePath={path}   a file's bytes (with a Range header to resume)
JSON answers carry {"Code": 200, "Success": true, "Data": ...} or a Code and Message saying what failed. ModelScope
downloads by branch or tag only, not by commit: hymt records the commit the revision pointed to and refuses, unless
told to --update, when the branch has moved since.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import BinaryIO

import requests

from hymt import __version__
from hymt.model.errors import AccessDenied, HubFailed, ModelUsageError, NotFound, redact
from hymt.model.hubs.base import COMMIT, Advance, Note, RemoteFile, Revision
from hymt.model.settings import HubSettings

DEFAULT_REVISION = "master"
# Git metadata ModelScope's own client leaves out of a download; a model directory has no use for them either.
SKIPPED = frozenset({".gitattributes", ".gitignore"})
CHUNK = 1 << 20
TIMEOUT = (10.0, 60.0)  # connect, read
RETRIES = 5  # attempts in a row without a single new byte before giving up


class ModelScopeHub:
    name = "modelscope"

    def __init__(
        self,
        settings: HubSettings,
        note: Note,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.public_endpoint = settings.public_endpoint
        self._note = note
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = f"hymt/{__version__}"
        if settings.token:
            self._session.headers["Authorization"] = f"Bearer {settings.token}"

    def resolve(self, repo_id: str, revision: str | None) -> Revision:
        asked = revision or DEFAULT_REVISION
        data = self._json(repo_id, f"/api/v1/models/{repo_id}/revisions")
        revision_map = data.get("RevisionMap") or {}
        names = {
            str(entry.get("Revision"))
            for kind in ("Branches", "Tags")
            for entry in (revision_map.get(kind) or [])
            if isinstance(entry, dict)
        }
        if asked not in names:
            known = ", ".join(sorted(names)) or "none"
            hint = f"give one of its branches or tags (--revision): {known}"
            if COMMIT.fullmatch(asked):
                hint = f"ModelScope downloads by branch or tag only, not by commit: {hint}"
            raise NotFound(f"{repo_id} has no revision {asked!r} on {self.public_endpoint}", hint)
        commits = self._json(
            repo_id, f"/api/v1/models/{repo_id}/commits", params={"Ref": asked, "PageNumber": 1, "PageSize": 1}
        )
        history = commits.get("Commit") or []
        commit = str(history[0].get("Id", "")) if history and isinstance(history[0], dict) else ""
        if not COMMIT.fullmatch(commit):
            raise HubFailed(
                f"{self.public_endpoint} did not say which commit {repo_id}@{asked} is",
                "check that --endpoint points at ModelScope (https://www.modelscope.cn)",
            )
        return Revision(name=asked, commit=commit)

    def index(self, repo_id: str, revision: Revision) -> list[RemoteFile]:
        data = self._json(
            repo_id,
            f"/api/v1/models/{repo_id}/repo/files",
            params={"Revision": revision.name or revision.commit, "Recursive": "True"},
        )
        files = []
        for entry in data.get("Files") or []:
            if not isinstance(entry, dict) or entry.get("Type") == "tree" or entry.get("Path") in SKIPPED:
                continue
            try:
                files.append(RemoteFile(path=str(entry["Path"]), size=int(entry["Size"]), sha256=entry.get("Sha256")))
            except (KeyError, TypeError, ValueError):
                raise HubFailed(
                    f"{self.public_endpoint} listed a file of {repo_id} without a path or size: {entry!r}"[:300],
                    "try again later; if it persists, use --hub huggingface",
                ) from None
        return files

    def download(
        self, repo_id: str, revision: Revision, file: RemoteFile, out: BinaryIO, offset: int, advance: Advance
    ) -> None:
        url = f"{self.settings.endpoint}/api/v1/models/{repo_id}/repo"
        params = {"Revision": revision.name or revision.commit, "FilePath": file.path}
        failures = 0
        while offset < file.size:
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            before = offset
            try:
                with self._session.get(url, params=params, headers=headers, stream=True, timeout=TIMEOUT) as response:
                    self._raise_for(repo_id, response, file.path)
                    if offset and response.status_code == 200:  # the range was ignored: start the file over
                        out.seek(0)
                        out.truncate()
                        advance(-offset)
                        offset = before = 0
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                        offset += len(chunk)
                        advance(len(chunk))
                if offset < file.size:
                    raise requests.ConnectionError(f"the answer ended after {offset} of {file.size} bytes")
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                failures = 0 if offset > before else failures + 1
                reason = redact(str(error), (self.settings.token,)).splitlines()[0][:200]
                if failures >= RETRIES:
                    raise self._unreachable(reason) from None
                self._note(f"note: {file.path}: connection lost ({reason}); resuming at byte {offset}")
                self._sleep(min(2.0**failures, 10.0))

    def close(self) -> None:
        self._session.close()

    # --- requests and their errors ---------------------------------------------------------------------------------
    def _json(self, repo_id: str, path: str, params: dict | None = None) -> dict:
        try:
            response = self._session.get(self.settings.endpoint + path, params=params, timeout=TIMEOUT)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise self._unreachable(redact(str(error), (self.settings.token,)).splitlines()[0][:200]) from None
        except requests.exceptions.InvalidURL as error:
            raise ModelUsageError(f"{repo_id!r} cannot be part of a ModelScope URL: {error}") from None
        self._raise_for(repo_id, response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("Data"), dict):
            raise HubFailed(
                f"{self.public_endpoint} did not answer like ModelScope's API ({path})",
                "check --endpoint (ModelScope is https://www.modelscope.cn), or use --hub huggingface",
            )
        if body.get("Code") not in (200, "200") or body.get("Success") is False:
            raise HubFailed(f"ModelScope refused {path}: {body.get('Message', 'no reason given')}")
        return body["Data"]

    def _raise_for(self, repo_id: str, response: requests.Response, path: str | None = None) -> None:
        status = response.status_code
        if status < 400:
            return
        message = ""
        try:
            body = response.json()
            if isinstance(body, dict):
                message = str(body.get("Message") or "")
        except ValueError:
            pass
        message = redact(message, (self.settings.token,))[:300]
        if status == 404:
            if path:
                raise HubFailed(
                    f"{self.public_endpoint} lists {path} in {repo_id} but does not serve it",
                    "try again later, or use --hub huggingface",
                )
            raise NotFound(
                f"{self.public_endpoint} has no model {repo_id}" + (f" ({message})" if message else ""),
                "check the ModelScope id (it often differs from the Hugging Face one: 'hymt model list' shows the "
                "known ones), or give the Hugging Face id to use the catalogue's",
            )
        if status in (401, 403):
            if self.settings.token:
                raise AccessDenied(
                    f"ModelScope refused the token from {self.settings.token_origin} for {repo_id}",
                    "check the token (an access token from https://www.modelscope.cn/my/myaccesstoken)",
                )
            raise AccessDenied(
                f"{repo_id} needs a ModelScope token",
                f"give an access token with --token-file FILE or {self.settings.token_variable}",
            )
        raise HubFailed(
            f"{self.public_endpoint} answered {status} for {repo_id}" + (f": {message}" if message else ""),
            "the hub may be busy or down: run the same command again later (it continues where it stopped)",
        )

    def _unreachable(self, reason: str) -> HubFailed:
        return HubFailed(
            f"cannot reach {self.public_endpoint}: {reason}",
            "check the network and any proxy (HTTPS_PROXY). Run the same command again: it continues where it stopped",
        )
