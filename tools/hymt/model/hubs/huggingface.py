"""Hugging Face (or a mirror of it, through its endpoint) with huggingface_hub.

huggingface_hub resolves the revision (model info), lists the files with their sizes and LFS hashes (the tree),
asks for each file's location (a HEAD on /resolve, following the hub's redirects and dropping the token when the
bytes come from a CDN) and streams it with byte ranges, retrying a cut connection from where it stopped. The bytes go
into a file hymt keeps between runs, so that a killed process also continues where it stopped; huggingface_hub's own
download functions would start such a file over. hf_xet's chunked transfer is not used for the same reason: it
rewrites the file it downloads. Checking the hashes is hymt's job: huggingface_hub does not check LFS hashes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import BinaryIO

from hymt import __version__
from hymt.model.errors import AccessDenied, Damaged, HubFailed, ModelUsageError, NotFound, human_size, redact
from hymt.model.hubs.base import COMMIT, Advance, Note, RemoteFile, Revision, same_origin
from hymt.model.settings import MIRROR_EXAMPLE, HubSettings

DEFAULT_REVISION = "main"
WRITE_CHUNK = 1 << 20
_EXTRA_HINT = "install the 'fetch' extra: pip install 'hymt[fetch]' (make setup does), or run it in the hymt web image"


class HuggingFaceHub:
    name = "huggingface"

    def __init__(self, settings: HubSettings, note: Note):
        try:
            import huggingface_hub
        except ImportError:
            raise ModelUsageError("fetching from Hugging Face needs the huggingface_hub package", _EXTRA_HINT) from None
        self._hf = huggingface_hub
        self.settings = settings
        self.public_endpoint = settings.public_endpoint
        self._note = note
        token = settings.token or False  # False: never a token huggingface_hub finds on its own
        self._token = token
        self._api = huggingface_hub.HfApi(
            endpoint=settings.endpoint, token=token, library_name="hymt", library_version=__version__
        )

    # --- the three steps -------------------------------------------------------------------------------------------
    def resolve(self, repo_id: str, revision: str | None) -> Revision:
        asked = revision or DEFAULT_REVISION
        with self._errors(repo_id, asked):
            info = self._api.model_info(repo_id, revision=asked)
        if not info.sha or not COMMIT.fullmatch(info.sha):
            raise HubFailed(
                f"{self.public_endpoint} did not say which commit {repo_id}@{asked} is",
                self._endpoint_hint(),
            )
        return Revision(name=None if asked == info.sha else asked, commit=info.sha)

    def index(self, repo_id: str, revision: Revision) -> list[RemoteFile]:
        from huggingface_hub.hf_api import RepoFile

        with self._errors(repo_id, revision.commit):
            entries = list(self._api.list_repo_tree(repo_id, revision=revision.commit, recursive=True))
        return [
            RemoteFile(
                path=entry.path,
                size=int(entry.size),
                sha256=entry.lfs.sha256 if entry.lfs else None,
                blob_id=entry.blob_id,
            )
            for entry in entries
            if isinstance(entry, RepoFile)
        ]

    def download(
        self, repo_id: str, revision: Revision, file: RemoteFile, out: BinaryIO, offset: int, advance: Advance
    ) -> None:
        from huggingface_hub.file_download import get_hf_file_metadata, hf_hub_url, http_get
        from huggingface_hub.utils import build_hf_headers

        url = hf_hub_url(repo_id, file.path, revision=revision.commit, endpoint=self.settings.endpoint)
        headers = build_hf_headers(token=self._token, library_name="hymt", library_version=__version__)
        with self._errors(repo_id, revision.commit, file.path), self._transfer_settings():
            metadata = get_hf_file_metadata(url, token=self._token, endpoint=self.settings.endpoint)
            if metadata.commit_hash and metadata.commit_hash != revision.commit:
                raise HubFailed(
                    f"{self.public_endpoint} serves {file.path} of commit {metadata.commit_hash[:12]}, "
                    f"not of {revision.commit[:12]} as asked",
                    "the mirror is out of date or broken: try again later, or another --endpoint",
                )
            if metadata.size is not None and metadata.size != file.size:
                raise Damaged(
                    f"{self.public_endpoint} serves {file.path} with {human_size(metadata.size)}, but its index "
                    f"says {human_size(file.size)}; nothing was put in place",
                    "the mirror is inconsistent: try again later, or another --endpoint or --hub",
                )
            if not same_origin(url, metadata.location):
                headers.pop("authorization", None)  # the bytes come from a CDN: the token stays with the hub
            http_get(
                metadata.location,
                out,
                resume_size=offset,
                headers=headers,
                expected_size=file.size,
                displayed_filename=file.path,
                tqdm_class=_bar_class(advance),
            )

    def close(self) -> None:
        pass

    # --- errors in the user's words --------------------------------------------------------------------------------
    def _endpoint_hint(self) -> str:
        return (
            f"check that {self.public_endpoint} is a Hugging Face hub or mirror (--endpoint, HF_ENDPOINT), "
            "or use --hub modelscope"
        )

    @contextlib.contextmanager
    def _errors(self, repo_id: str, revision: str, path: str | None = None) -> Iterator[None]:
        import httpx2
        from huggingface_hub import errors

        where = self.public_endpoint
        secrets = (self.settings.token,)
        try:
            yield
        except errors.GatedRepoError:
            raise self._denied(repo_id, gated=True) from None
        except errors.RepositoryNotFoundError:
            if self.settings.token:
                raise NotFound(
                    f"{where} has no repository {repo_id}, or the token from {self.settings.token_origin} "
                    "may not read it",
                    "check the id ('hymt model list' shows the known ones) and the token's permissions",
                ) from None
            raise NotFound(
                f"{where} has no repository {repo_id} (or it is private)",
                "check the id ('hymt model list' shows the known ones); for a private model give a token "
                f"(--token-file FILE or {self.settings.token_variable})",
            ) from None
        except errors.RevisionNotFoundError:
            raise NotFound(
                f"{repo_id} has no revision {revision!r} on {where}",
                "give a branch, tag or commit the repository has (--revision), or leave --revision out for main",
            ) from None
        except errors.RemoteEntryNotFoundError:
            if path is None:  # an API call answered "no such path": not a hub's API at all
                raise HubFailed(f"{where} does not answer like a Hugging Face hub", self._endpoint_hint()) from None
            raise HubFailed(
                f"{where} lists {path} in {repo_id}@{revision[:12]} but does not serve it",
                "the mirror is incomplete: try again later, or another --endpoint or --hub",
            ) from None
        except errors.HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status in (401, 403):
                raise self._denied(repo_id, gated=False) from None
            if status == 404 and path is None:
                raise HubFailed(f"{where} does not answer like a Hugging Face hub", self._endpoint_hint()) from None
            detail = redact(error.server_message or str(error).strip().splitlines()[0], secrets)
            raise HubFailed(
                f"{where} answered {status} for {repo_id}: {detail}",
                "the hub may be busy or down: run the same command again later (it continues where it stopped)",
            ) from None
        except errors.HFValidationError as error:
            raise ModelUsageError(
                f"{repo_id!r} is not a Hugging Face repository id: {redact(str(error), secrets).splitlines()[0]}",
                "give it as owner/name, e.g. tencent/Hunyuan-MT-7B ('hymt model list')",
            ) from None
        except errors.OfflineModeIsEnabled:
            raise HubFailed(
                "huggingface_hub is in offline mode (HF_HUB_OFFLINE is set)", "unset HF_HUB_OFFLINE to download"
            ) from None
        except errors.FileMetadataError as error:
            raise HubFailed(
                f"{where} does not answer like a Hugging Face hub: {redact(str(error), secrets).splitlines()[0]}",
                self._endpoint_hint(),
            ) from None
        except (httpx2.TransportError, httpx2.TooManyRedirects) as error:
            reason = redact(str(error) or type(error).__name__, secrets).splitlines()[0]
            raise HubFailed(
                f"cannot reach {where}: {reason}",
                "check the network and any proxy (HTTPS_PROXY); from mainland China use a mirror "
                f"(--endpoint {MIRROR_EXAMPLE}) or --hub modelscope. Run the same command again: it continues "
                "where it stopped",
            ) from None
        except ValueError as error:  # a JSON answer that is not one (an HTML page at the endpoint), a refused size
            raise HubFailed(
                f"{where} did not answer like a Hugging Face hub: {redact(str(error), secrets).splitlines()[0]}",
                self._endpoint_hint(),
            ) from None

    def _denied(self, repo_id: str, gated: bool) -> AccessDenied:
        page = f"{self.public_endpoint}/{repo_id}"
        if not self.settings.token:
            what = "is gated: it needs a token" if gated else "needs a token"
            return AccessDenied(
                f"{repo_id} {what}",
                f"accept its terms at {page} if it asks you to, make a read token at "
                f"https://huggingface.co/settings/tokens, and give it with --token-file FILE or "
                f"{self.settings.token_variable}",
            )
        return AccessDenied(
            f"{self.public_endpoint} refused the token from {self.settings.token_origin} for {repo_id}",
            f"check that the token is valid and may read {repo_id} (for a gated model, accept its terms at {page})",
        )

    @contextlib.contextmanager
    def _transfer_settings(self) -> Iterator[None]:
        """For one download: huggingface_hub's retry messages ("Trying to resume download...") become notes instead
        of going to its own handler, and it writes every MiB instead of every 10 MB (its default), so that a cut
        or a killed process loses at most the last MiB, and progress moves smoothly."""
        from huggingface_hub import constants

        logger = logging.getLogger("huggingface_hub")
        handlers, propagate = logger.handlers[:], logger.propagate
        logger.handlers = [_NoteHandler(self._note, (self.settings.token,))]
        logger.propagate = False
        chunk_size, constants.DOWNLOAD_CHUNK_SIZE = constants.DOWNLOAD_CHUNK_SIZE, WRITE_CHUNK
        try:
            yield
        finally:
            logger.handlers, logger.propagate = handlers, propagate
            constants.DOWNLOAD_CHUNK_SIZE = chunk_size


class _NoteHandler(logging.Handler):
    def __init__(self, note: Note, secrets: tuple[str | None, ...]):
        super().__init__(logging.WARNING)
        self._note, self._secrets = note, secrets

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        self._note("note: " + redact(text, self._secrets))


def _bar_class(advance: Advance) -> type:
    """A stand-in for tqdm that http_get drives: it passes each piece's size to `advance`."""

    class _Bar:
        def __init__(self, *args: object, **kwargs: object):
            pass

        def __enter__(self) -> _Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def update(self, count: int = 1) -> None:
            advance(count)

        def close(self) -> None:
            pass

    return _Bar
