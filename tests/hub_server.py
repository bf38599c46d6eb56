"""A local Hugging Face Hub for tests: the routes the real huggingface_hub client calls, nothing more.

It keeps repositories in memory as commits (path -> bytes) and answers:

    GET  /api/whoami-v2                                   token check (Bearer token in `tokens`)
    POST /api/repos/create                                create a model repository
    POST /api/validate-yaml                               README.md front matter must be a YAML mapping
    POST /api/models/{owner}/{name}/preupload/{rev}       every file is uploaded "regular" (no LFS/Xet)
    POST /api/models/{owner}/{name}/commit/{rev}          NDJSON: a header line, then one line per file
    GET  /api/models/{owner}/{name}[/revision/{rev}]      repo info: the commit sha, file sizes
    GET  /api/models/{owner}/{name}/tree/{rev}            the file listing (sizes), recursive
    HEAD|GET /{owner}/{name}/resolve/{rev}/{path}         file download with X-Repo-Commit and ETag

Private repositories answer only requests carrying an accepted token. `requests` records every
request (method, path, whether an Authorization header was sent) so tests can check what happened.

Hostile modes, for the tests that a Hub cannot hang, flood or trick the client:

    hang = True                 accept every request and never answer (until close())
    trickle = 5.0               answer everything one byte every 5 s, status line and headers included
    trickle_bodies = {path}     send a file's headers at once, then its body one byte every `drip_interval` s
    listed_sizes = {path: n}    list the file as n bytes (its real content is served)
    oversize = {path: n|None}   GET answers Content-Length n (or no length at all) and streams zeros
                                until the client stops reading; `served[path]` counts the bytes sent
    commit_sha = "..."          answer this as the commit (in repo info and X-Repo-Commit), e.g. "../../x"
    header_commit = "..."       answer this in downloads' X-Repo-Commit only (a commit other than the listed one)
    fail_info = 503             the repo info / listing route answers this HTTP status
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


@dataclass
class Repo:
    private: bool = False
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> {path: content}
    refs: dict[str, str] = field(default_factory=dict)  # branch -> sha
    messages: dict[str, str] = field(default_factory=dict)  # sha -> commit summary

    def files(self, rev: str) -> dict[str, bytes] | None:
        sha = self.refs.get(rev, rev)
        return self.commits.get(sha)


class LocalHub:
    """Start with `LocalHub(tokens={"hf_good": "alice"})`; `.url` is the endpoint; `.close()` stops it."""

    def __init__(self, tokens: dict[str, str] | None = None, orgs: tuple[str, ...] = ()):
        self.tokens = dict(tokens or {})  # token -> user name
        self.orgs = orgs
        self.read_only_tokens: set[str] = set()
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, bool]] = []
        self.truncate: set[str] = set()  # paths whose downloads are cut short (a broken transfer)
        # Hostile modes (see the module docstring).
        self.hang = False
        self.trickle: float | None = None
        self.trickle_bodies: set[str] = set()
        self.drip_interval = 5.0
        self.listed_sizes: dict[str, int] = {}
        self.oversize: dict[str, int | None] = {}
        self.served: Counter[str] = Counter()
        self.commit_sha: str | None = None
        self.header_commit: str | None = None
        self.fail_info: int | None = None
        self.closed = threading.Event()
        handler = type("Handler", (_Handler,), {"hub": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closed.set()  # hanging and trickling handlers stop at once
        self.server.shutdown()
        self.server.server_close()

    def commit(self, repo_id: str, files: dict[str, bytes], message: str = "test commit", branch: str = "main") -> str:
        """Add a commit on top of `branch` (files replace or add paths) and return its sha."""
        repo = self.repos.setdefault(repo_id, Repo())
        content = dict(repo.files(branch) or {})
        content.update(files)
        digest = hashlib.sha1(json.dumps(sorted((p, hashlib.sha256(b).hexdigest()) for p, b in content.items())).encode()
                              + message.encode() + str(len(repo.commits)).encode()).hexdigest()
        repo.commits[digest] = content
        repo.refs[branch] = digest
        repo.messages[digest] = message
        return digest


class _Handler(BaseHTTPRequestHandler):
    hub: LocalHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    # -- helpers -----------------------------------------------------------------------------
    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else None
        return self.hub.tokens.get(token) if token else None

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else None

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, head: bool = False) -> None:
        if self.hub.trickle is not None:
            headers = {"Content-Length": str(len(body)), **(headers or {})}
            raw = f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n".encode()
            raw += "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"
            return self._drip(raw + (b"" if head else body), self.hub.trickle)
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _drip(self, raw: bytes, interval: float) -> None:
        """Write `raw` one byte at a time, `interval` seconds apart, until done or the hub closes."""
        self.close_connection = True
        for i in range(len(raw)):
            if self.hub.closed.is_set():
                return
            try:
                self.wfile.write(raw[i : i + 1])
                self.wfile.flush()
            except OSError:
                return
            self.hub.closed.wait(interval)

    def _flood(self, file_path: str, length: int | None, headers: dict[str, str]) -> None:
        """Announce `length` bytes (or none) and stream zeros until the client stops reading."""
        self.send_response(200)
        for key, value in headers.items():
            if key != "Content-Length":
                self.send_header(key, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = bytes(64 * 1024)
        remaining = length if length is not None else 1 << 40
        while remaining > 0 and not self.hub.closed.is_set() and self.hub.served[file_path] < 256 * 1024 * 1024:
            try:
                self.wfile.write(chunk[: min(len(chunk), remaining)])
            except OSError:
                return
            self.hub.served[file_path] += min(len(chunk), remaining)
            remaining -= len(chunk)

    def _json(self, status: int, data, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _not_found(self, code: str = "RepoNotFound", message: str = "Repository not found") -> None:
        self._json(404, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None or (repo.private and self._user() is None):
            return None
        return repo

    def _record(self) -> None:
        self.hub.requests.append((self.command, urlparse(self.path).path, "Authorization" in self.headers))

    # -- routes ----------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._get(head=True)

    def do_GET(self) -> None:
        self._get(head=False)

    def _get(self, head: bool) -> None:
        self._record()
        if self.hub.hang:
            self.hub.closed.wait()
            self.close_connection = True
            return
        path = unquote(urlparse(self.path).path)
        parts = path.strip("/").split("/")
        if path == "/api/whoami-v2":
            user = self._user()
            if user is None:
                return self._json(401, {"error": "Invalid credentials in Authorization header"})
            role = "read" if self._token() in self.hub.read_only_tokens else "write"
            return self._json(200, {"type": "user", "name": user, "orgs": [{"name": o} for o in self.hub.orgs],
                                    "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": role}}})
        if parts[:2] == ["api", "models"] and (len(parts) == 4 or len(parts) >= 6 and parts[4] in ("revision", "tree")):
            repo_id = f"{parts[2]}/{parts[3]}"
            kind, rev = (parts[4], "/".join(parts[5:])) if len(parts) > 4 else ("revision", "main")
            repo = self._repo(repo_id)
            if repo is None:
                return self._not_found()
            files = repo.files(rev)
            if files is None:
                return self._not_found("RevisionNotFound", f"Invalid rev id: {rev}")
            if self.hub.fail_info is not None:
                return self._json(self.hub.fail_info, {"error": "the Hub is having a bad day"})
            sha = self.hub.commit_sha or repo.refs.get(rev, rev)
            size = lambda p, b: self.hub.listed_sizes.get(p, len(b))  # noqa: E731
            if kind == "revision":
                return self._json(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private,
                                        "siblings": [{"rfilename": p, "size": size(p, b)} for p, b in sorted(files.items())]})
            return self._json(200, [{"type": "file", "path": p, "size": size(p, b), "oid": hashlib.sha1(b).hexdigest()}
                                    for p, b in sorted(files.items())])
        if len(parts) >= 5 and parts[2] == "resolve":
            repo_id, rev, file_path = f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:])
            repo = self._repo(repo_id)
            if repo is None:
                return self._not_found()
            files = repo.files(rev)
            if files is None:
                return self._not_found("RevisionNotFound", f"Invalid rev id: {rev}")
            if file_path not in files:
                return self._not_found("EntryNotFound", f"{file_path} does not exist")
            content = files[file_path]
            headers = {"X-Repo-Commit": self.hub.header_commit or self.hub.commit_sha or repo.refs.get(rev, rev),
                       "ETag": f'"{hashlib.sha1(content).hexdigest()}"',
                       "Content-Type": "application/octet-stream", "Content-Length": str(len(content))}
            if file_path in self.hub.oversize and not head:
                return self._flood(file_path, self.hub.oversize[file_path], headers)
            if file_path in self.hub.trickle_bodies and not head:
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                return self._drip(content, self.hub.drip_interval)
            if file_path in self.hub.truncate and not head:
                # Announce the full size but send half, then close: a transfer broken mid-way.
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(content[: len(content) // 2])
                self.close_connection = True
                return
            return self._send(200, content, headers, head=head)
        return self._not_found("EntryNotFound", f"no route for {path}")

    def do_POST(self) -> None:
        self._record()
        if self.hub.hang:
            self.hub.closed.wait()
            self.close_connection = True
            return
        path = unquote(urlparse(self.path).path)
        parts = path.strip("/").split("/")
        body = self._body()
        user = self._user()
        if user is None or self._token() in self.hub.read_only_tokens:
            return self._json(401, {"error": "Invalid credentials in Authorization header"})
        if path == "/api/repos/create":
            request = json.loads(body)
            repo_id = f"{request.get('organization') or user}/{request['name']}"
            if repo_id in self.hub.repos:
                return self._json(409, {"error": "You already created this model repo", "url": f"{self.hub.url}/{repo_id}"})
            private = bool(request.get("private")) or request.get("visibility") == "private"
            self.hub.repos[repo_id] = Repo(private=private)
            return self._json(200, {"url": f"{self.hub.url}/{repo_id}", "name": repo_id, "id": repo_id})
        if path == "/api/validate-yaml":
            import yaml

            content = json.loads(body)["content"]
            try:
                front = yaml.safe_load(content.split("---")[1]) if content.startswith("---") else None
            except yaml.YAMLError as err:
                front = str(err)
            if not isinstance(front, dict):
                return self._json(400, {"errors": [{"message": f"README.md front matter is not a mapping: {front!r}"}]})
            return self._json(200, {"warnings": []})
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("preupload", "commit"):
            repo_id, kind, rev = f"{parts[2]}/{parts[3]}", parts[4], "/".join(parts[5:])
            if repo_id not in self.hub.repos:
                return self._not_found()
            if kind == "preupload":
                files = json.loads(body).get("files", [])
                return self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                                  for f in files]})
            summary, added = "", {}
            for line in body.decode().splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                if item["key"] == "header":
                    summary = item["value"].get("summary", "")
                elif item["key"] == "file":
                    added[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            sha = self.hub.commit(repo_id, added, summary, branch=rev)
            return self._json(200, {"commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}", "commitOid": sha,
                                    "success": True})
        return self._not_found("EntryNotFound", f"no route for {path}")
