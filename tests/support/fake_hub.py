"""A stand-in model hub for tests: speaks the parts of Hugging Face's and ModelScope's HTTP APIs that hymt's model
commands use, over a small repository, and logs every request.

Hugging Face (as huggingface_hub calls it):
  GET  /api/models/{repo}/revision/{rev}           model info: "sha" is the commit the revision points to
  GET  /api/models/{repo}/tree/{rev}?recursive=..  files with size, git object id, and "lfs" {oid (SHA-256), size}
  HEAD /{repo}/resolve/{rev}/{path}                 X-Repo-Commit, ETag, Content-Length; LFS files answer 302 to the
                                                    "CDN" (a second port: another origin, as on the real hub) with
                                                    X-Linked-Etag and X-Linked-Size
  GET  /{repo}/resolve/{rev}/{path}, /cdn/{sha256}  the bytes, with byte ranges (206, Content-Range)
  Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, GatedRepo, EntryNotFound) or, for a wrong token, 401
  with X-Error-Message "Invalid credentials in Authorization header".
ModelScope (as its client's modelscope.hub.api calls it):
  GET /api/v1/models/{repo}/revisions, /commits?Ref=, /repo/files?Revision=&Recursive=, /repo?Revision=&FilePath=

Faults a test sets on `faults`: cut the connection once at a byte of a file, flip a byte of a file (a bad mirror),
send a file slowly. Stdlib only, so that it also runs in a container of the python image (`python fake_hub.py`),
where the role's tests reach it from the rehearsal host's own Docker engine.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LFS_THRESHOLD = 100_000  # larger files are "stored in LFS": the index gives their SHA-256
CHUNK = 64 * 1024


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def commit_id(label: str) -> str:
    return hashlib.sha1(label.encode(), usedforsecurity=False).hexdigest()


def tiny_repository(seed: str = "hymt", large_size: int = 2_000_000) -> dict[str, bytes]:
    """A small model repository: a few KB of JSON and text, and one "large" (LFS) weights file."""
    block = hashlib.sha256(seed.encode()).digest()
    weights = bytearray()
    counter = 0
    while len(weights) < large_size:
        weights += hashlib.sha256(block + counter.to_bytes(8, "little")).digest()
        counter += 1
    config = {"architectures": ["HunYuanDenseV1ForCausalLM"], "model_type": "hunyuan_v1_dense", "seed": seed}
    return {
        ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
        "README.md": f"# A stand-in model for tests ({seed})\n".encode(),
        "config.json": json.dumps(config, indent=2).encode(),
        "generation_config.json": b'{"top_k": 20, "top_p": 0.6, "temperature": 0.7}\n',
        "tokenizer/tokenizer_config.json": b'{"model_max_length": 32768}\n' + b" " * 2000,
        "model.safetensors": bytes(weights),
    }


@dataclass
class Repo:
    repo_id: str
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit -> files
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit
    token: str | None = None  # when set, every request needs "Authorization: Bearer <token>"
    gated: bool = False  # a request without a token is told the model is gated

    def add_commit(self, files: dict[str, bytes], branch: str, label: str | None = None) -> str:
        commit = commit_id(label or f"{self.repo_id}:{len(self.commits)}")
        self.commits[commit] = dict(files)
        self.refs[branch] = commit
        return commit

    def commit_of(self, revision: str) -> str | None:
        if revision in self.commits:
            return revision
        return self.refs.get(revision)


@dataclass
class Faults:
    cut_at: dict[str, int] = field(default_factory=dict)  # path -> byte offset: close the connection there, once
    cut_every: dict[str, int] = field(default_factory=dict)  # path -> byte offset: close every answer there
    flip: set[str] = field(default_factory=set)  # paths served with one byte flipped (the index stays right)
    delay_per_chunk: dict[str, float] = field(default_factory=dict)  # path -> seconds slept per 64 KiB


@dataclass
class Logged:
    method: str
    path: str
    range: str | None
    authorized: bool
    client: str = ""

    def __str__(self) -> str:
        auth = "yes" if self.authorized else "no"
        return f"{self.client} {self.method} {self.path} range={self.range or '-'} auth={auth}"


class FakeHub:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, cdn_port: int = 0, echo: bool = False):
        self.repos: dict[str, Repo] = {}
        self.faults = Faults()
        self.log: list[Logged] = []
        self.echo = echo
        self._lock = threading.Lock()
        handler = _handler_for(self)
        self._api = ThreadingHTTPServer((host, port), handler)
        self._cdn = ThreadingHTTPServer((host, cdn_port), handler)
        self._threads: list[threading.Thread] = []

    # --- set-up ----------------------------------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: dict[str, bytes] | None = None, branch: str = "main", **options) -> Repo:
        repo = Repo(repo_id, **options)
        repo.add_commit(files if files is not None else tiny_repository(repo_id), branch)
        self.repos[repo_id.casefold()] = repo
        return repo

    def reset(self) -> None:
        """No repositories, no faults, an empty log."""
        with self._lock:
            self.repos.clear()
            self.log.clear()
            self.faults = Faults()

    @property
    def port(self) -> int:
        return self._api.server_address[1]

    @property
    def cdn_port(self) -> int:
        return self._cdn.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._api.server_address[0]}:{self.port}"

    def start(self) -> FakeHub:
        for server in (self._api, self._cdn):
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._api, self._cdn):
            server.shutdown()
            server.server_close()

    def record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)
        if self.echo:
            print(entry, flush=True)

    def ranges(self, path_part: str) -> list[str]:
        """The Range headers of the requests whose path contains `path_part`."""
        return [entry.range for entry in self.log if path_part in entry.path and entry.range]

    def take_cut(self, path: str) -> int | None:
        with self._lock:
            return self.faults.cut_at.pop(path, None)


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.hub = hub
    return Handler


_HF_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)$")
_HF_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/.*)?$")
_HF_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_CDN = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})$")
_MS = re.compile(r"^/api/v1/models/(?P<repo>[^/]+/[^/]+)/(?P<what>revisions|commits|repo/files|repo)$")


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # the hub keeps its own log
        pass

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    # --- routing ---------------------------------------------------------------------------------------------------
    def _dispatch(self, head: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        self.hub.record(
            Logged(
                self.command,
                self.path,
                self.headers.get("Range"),
                "Authorization" in self.headers,
                self.client_address[0],
            )
        )
        if match := _MS.match(path):
            return self._modelscope(match["repo"], match["what"], query, head)
        if match := _HF_INFO.match(path):
            return self._hf_info(match["repo"], match["rev"])
        if match := _HF_TREE.match(path):
            return self._hf_tree(match["repo"], match["rev"])
        if match := _HF_RESOLVE.match(path):
            return self._hf_resolve(match["repo"], match["rev"], match["path"], head)
        if match := _CDN.match(path):
            return self._cdn(match["sha"], head)
        self._send(404, b"not found", headers={"X-Error-Code": "EntryNotFound"})

    # --- Hugging Face ----------------------------------------------------------------------------------------------
    def _hf_repo(self, repo_id: str) -> Repo | None:
        """The repository if the request may see it; otherwise the error is sent and None returned."""
        repo = self.hub.repos.get(repo_id.casefold())
        given = self._token()
        if repo is not None and repo.token is not None and given is not None and given != repo.token:
            self._send_json(
                401, {"error": "Invalid credentials in Authorization header"},
                {"X-Error-Message": "Invalid credentials in Authorization header"},
            )  # fmt: skip
            return None
        if repo is None or (repo.token is not None and given is None and not repo.gated):
            status = 404 if given else 401
            self._send_json(status, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return None
        if repo.token is not None and given is None:
            self._send_json(401, {"error": "Access to this model is restricted"}, {"X-Error-Code": "GatedRepo"})
            return None
        return repo

    def _hf_commit(self, repo: Repo, revision: str) -> str | None:
        commit = repo.commit_of(revision)
        if commit is None:
            self._send_json(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
        return commit

    def _hf_info(self, repo_id: str, revision: str) -> None:
        if (repo := self._hf_repo(repo_id)) is None or (commit := self._hf_commit(repo, revision)) is None:
            return
        files = repo.commits[commit]
        self._send_json(
            200,
            {
                "_id": commit[:24],
                "id": repo.repo_id,
                "sha": commit,
                "private": repo.token is not None,
                "gated": "manual" if repo.gated else False,
                "siblings": [{"rfilename": path} for path in sorted(files)],
                "tags": [],
            },
        )

    def _hf_tree(self, repo_id: str, revision: str) -> None:
        if (repo := self._hf_repo(repo_id)) is None or (commit := self._hf_commit(repo, revision)) is None:
            return
        entries, folders = [], set()
        for path, data in sorted(repo.commits[commit].items()):
            parts = path.split("/")
            folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
            entry = {"type": "file", "oid": git_blob_id(data), "size": len(data), "path": path}
            if len(data) > LFS_THRESHOLD:
                entry["lfs"] = {"oid": sha256(data), "size": len(data), "pointerSize": 134}
            entries.append(entry)
        entries += [{"type": "directory", "oid": commit_id(folder), "size": 0, "path": folder} for folder in folders]
        self._send_json(200, entries)

    def _hf_resolve(self, repo_id: str, revision: str, path: str, head: bool) -> None:
        if (repo := self._hf_repo(repo_id)) is None or (commit := self._hf_commit(repo, revision)) is None:
            return
        data = repo.commits[commit].get(path)
        if data is None:
            headers = {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}
            self._send_json(404, {"error": "Entry not found"}, headers)
            return
        if len(data) > LFS_THRESHOLD:
            host = (self.headers.get("Host") or "127.0.0.1").rsplit(":", 1)[0]
            location = f"http://{host}:{self.hub.cdn_port}/cdn/{sha256(data)}"
            headers = {
                "Location": location,
                "X-Repo-Commit": commit,
                "X-Linked-Etag": f'"{sha256(data)}"',
                "X-Linked-Size": str(len(data)),
                "ETag": f'"{git_blob_id(data)}"',
            }
            self._send(302, b"", headers=headers)
            return
        self._send_file(path, data, head, {"X-Repo-Commit": commit, "ETag": f'"{git_blob_id(data)}"'})

    def _cdn(self, digest: str, head: bool) -> None:
        for repo in self.hub.repos.values():
            for files in repo.commits.values():
                for path, data in files.items():
                    if sha256(data) == digest:
                        return self._send_file(path, data, head, {"ETag": f'"{digest}"'})
        self._send(404, b"no such blob")

    # --- ModelScope ------------------------------------------------------------------------------------------------
    def _modelscope(self, repo_id: str, what: str, query: dict[str, str], head: bool) -> None:
        repo = self.hub.repos.get(repo_id.casefold())
        given = self._token()
        if repo is not None and repo.token is not None and given != repo.token:
            self._send_json(401, {"Code": 10010205401, "Message": "Unauthorized", "Success": False})
            return
        if repo is None:
            self._send_json(404, {"Code": 10010205001, "Message": f"model {repo_id} not found", "Success": False})
            return
        if what == "revisions":
            branches = [{"Revision": name} for name in repo.refs if not name.startswith("v")]
            tags = [{"Revision": name} for name in repo.refs if name.startswith("v")]
            return self._ms_ok({"RevisionMap": {"Branches": branches, "Tags": tags}})
        commit = repo.refs.get(query.get("Ref") or query.get("Revision") or "master")
        if commit is None:
            self._send_json(404, {"Code": 10010205002, "Message": "revision not found", "Success": False})
            return
        files = repo.commits[commit]
        if what == "commits":
            return self._ms_ok({"Commit": [{"Id": commit, "ShortId": commit[:8], "Title": "stand-in commit"}]})
        if what == "repo/files":
            listing = [
                {"Name": path.rsplit("/", 1)[-1], "Path": path, "Type": "blob", "Size": len(data),
                 "Sha256": sha256(data), "IsLFS": len(data) > LFS_THRESHOLD, "Revision": commit}
                for path, data in sorted(files.items())
            ]  # fmt: skip
            listing.append({"Name": "tokenizer", "Path": "tokenizer", "Type": "tree", "Size": 0, "Sha256": ""})
            return self._ms_ok({"Files": listing})
        path = query.get("FilePath", "")
        if path not in files:
            self._send_json(404, {"Code": 10010205003, "Message": "file not found", "Success": False})
            return
        self._send_file(path, files[path], head, {})

    def _ms_ok(self, data: dict) -> None:
        self._send_json(200, {"Code": 200, "Success": True, "Message": "success", "Data": data, "RequestId": "x"})

    # --- responses -------------------------------------------------------------------------------------------------
    def _token(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value.removeprefix("Bearer ").strip() if value.startswith("Bearer ") else None

    def _send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self, status: int, body: bytes, content_type: str = "text/plain", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_file(self, path: str, data: bytes, head: bool, headers: dict[str, str]) -> None:
        faults = self.hub.faults
        if path in faults.flip:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
        start, status = 0, 200
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        end = len(data)
        if wanted:
            start = int(wanted[1])
            end = min(len(data), int(wanted[2]) + 1) if wanted[2] else len(data)
            if start >= len(data):
                self._send(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if head:
            return
        cut = self.hub.take_cut(path)
        if cut is not None and not start <= cut < end:
            self.hub.faults.cut_at[path] = cut  # not in this answer: keep it for the next one
            cut = None
        if path in faults.cut_every and start <= faults.cut_every[path] < end:
            cut = faults.cut_every[path]
        delay = faults.delay_per_chunk.get(path, 0.0)
        position = start
        try:
            while position < end:
                stop = min(end, position + CHUNK, cut if cut is not None and cut > position else end)
                self.wfile.write(data[position:stop])
                self.wfile.flush()
                position = stop
                if cut is not None and position >= cut:
                    self.close_connection = True
                    self.connection.shutdown(2)  # mid-answer: the client sees the connection drop
                    return
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A stand-in model hub serving a tiny repository (tests only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--cdn-port", type=int, default=8001)
    parser.add_argument("--repo", action="append", default=[], help="a repository id to serve (repeatable)")
    parser.add_argument("--modelscope-repo", action="append", default=[], help="served on the master branch")
    args = parser.parse_args(argv)
    hub = FakeHub(args.host, args.port, args.cdn_port, echo=True)
    for repo_id in args.repo:
        hub.add_repo(repo_id)
    for repo_id in args.modelscope_repo:
        hub.add_repo(repo_id, branch="master")
    print(f"fake hub on {hub.url} (CDN port {hub.cdn_port})", flush=True)
    hub.start()
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
