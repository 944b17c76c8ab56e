"""A real HTTP server on 127.0.0.1 speaking the Cloud Storage JSON API subset our adapters use.

In-memory buckets of objects; every write makes a new generation (no versioning: the old
generation is gone). Served like GCS:
  GET    /storage/v1/b/<bucket>                              bucket metadata
  POST   /storage/v1/b                                       create bucket {"name": ...}
  GET    /storage/v1/b/<bucket>/o?prefix&pageToken&maxResults      (other list options: 400)
  GET    /storage/v1/b/<bucket>/o/<object>[?alt=media]       object metadata / content
  GET    /download/storage/v1/b/<bucket>/o/<object>?alt=media content (mediaLink)
  DELETE /storage/v1/b/<bucket>/o/<object>
  POST   /upload/storage/v1/b/<bucket>/o?uploadType=media&name=...   (raw body)
  POST   /upload/storage/v1/b/<bucket>/o?uploadType=multipart        (JSON metadata + media)
  POST   /upload/storage/v1/b/<bucket>/o?uploadType=resumable        (Location: session URI)
  PUT    <session URI> with Content-Range                     (308 + Range until complete)
Preconditions ifGenerationMatch (0 = must not exist), ifGenerationNotMatch,
ifMetagenerationMatch, ifMetagenerationNotMatch answer 412 conditionNotMet; `generation`
selects a generation (404 once replaced). Uploaded crc32c / md5Hash are verified (400).
Downloads carry x-goog-generation, x-goog-hash and friends; Range requests get 206.
Lists are paged at most `page_size` items (maxResults may ask for fewer).
`before(kind, fn)` runs fn(bucket, name) once, in the handler thread, just before the next
"upload" (at finalisation) or "download" is applied: a concurrent writer can be injected
there. Every request is recorded as (method, path, query, status).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import google_crc32c

from tests.integration.local_http import reply, start_server, stop_server


@dataclass
class Obj:
    data: bytes
    generation: int
    metageneration: int
    content_type: str
    updated: datetime


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    status: int


class HttpError(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _crc32c(data: bytes) -> str:
    return _b64(google_crc32c.Checksum(data).digest())


def _md5(data: bytes) -> str:
    return _b64(hashlib.md5(data).digest())


@dataclass
class FakeGcs:
    page_size: int = 1000
    buckets: dict[str, dict[str, Obj]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    _sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _hooks: dict[str, list[Callable[[str, str], None]]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _generations: Any = field(default_factory=lambda: itertools.count(1_700_000_000_000_001))
    _server: ThreadingHTTPServer | None = None

    # -- control ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def create_bucket(self, name: str) -> None:
        with self._lock:
            self.buckets.setdefault(name, {})

    def before(self, kind: str, fn: Callable[[str, str], None]) -> None:
        """Run fn(bucket, object) once before the next `kind` ("upload"/"download") applies."""
        assert kind in ("upload", "download")
        with self._lock:
            self._hooks.setdefault(kind, []).append(fn)

    def calls(self, method: str, path_part: str, status: int | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and path_part in r.path
                and (status is None or r.status == status)]

    def start(self) -> FakeGcs:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # idle keep-alive connections end on their own
            wbufsize = 1 << 16  # headers and body leave in one send (no 40 ms delayed-ACK stall)
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                        out += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                    return out
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                body = self._body()
                try:
                    try:
                        status, headers, payload = fake._route(
                            self.command, parts.path, query, dict(self.headers), body)
                    except (ValueError, KeyError) as exc:  # unparsable numbers, JSON, tokens
                        raise HttpError(400, "invalid", f"Invalid request: {exc!r}") from exc
                except HttpError as exc:
                    status, headers = exc.status, {"Content-Type": "application/json"}
                    payload = json.dumps({"error": {"code": exc.status, "message": exc.message,
                                                    "errors": [{"domain": "global", "reason": exc.reason,
                                                                "message": exc.message}]}}).encode()
                with fake._lock:
                    fake.requests.append(Recorded(self.command, parts.path, query, status))
                reply(self, status, payload, headers, write_body=self.command != "HEAD")

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = start_server(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None

    # -- protocol ---------------------------------------------------------------------
    def _route(self, method: str, path: str, q: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        seg = path.strip("/").split("/")
        if seg[:3] == ["upload", "storage", "v1"] and len(seg) == 6 and seg[5] == "o":
            self._bucket(unquote(seg[4]))
            if method == "PUT" or "upload_id" in q:
                return self._resumable_chunk(q.get("upload_id", ""), headers, body)
            return self._upload(unquote(seg[4]), q, headers, body)
        if seg[:3] == ["download", "storage", "v1"] and len(seg) == 7 and method == "GET":
            return self._download(unquote(seg[4]), unquote(seg[6]), q, headers)
        if seg[:2] != ["storage", "v1"]:
            raise HttpError(404, "notFound", f"No such endpoint: {method} {path}")
        if seg[2:] == ["b"] and method == "POST":
            name = json.loads(body or b"{}").get("name", "")
            with self._lock:
                if name in self.buckets:
                    raise HttpError(409, "conflict", "You already own this bucket.")
                self.buckets[name] = {}
            return self._json({"kind": "storage#bucket", "name": name, "id": name})
        if len(seg) == 4 and seg[2] == "b" and method == "GET":
            name = unquote(seg[3])
            self._bucket(name)
            return self._json({"kind": "storage#bucket", "name": name, "id": name})
        if len(seg) == 5 and seg[4] == "o" and method == "GET":
            return self._list(unquote(seg[3]), q)
        if len(seg) == 6 and seg[4] == "o":
            bucket_name, name = unquote(seg[3]), unquote(seg[5])
            if method == "GET" and q.get("alt") == "media":
                return self._download(bucket_name, name, q, headers)
            if method == "GET":
                with self._lock:
                    obj = self._existing(bucket_name, name, q)
                    return self._json(self._resource(bucket_name, name, obj))
            if method == "DELETE":
                with self._lock:
                    self._existing(bucket_name, name, q)
                    del self.buckets[bucket_name][name]
                return 204, {}, b""
        raise HttpError(404, "notFound", f"No such endpoint: {method} {path}")

    def _bucket(self, name: str) -> dict[str, Obj]:
        with self._lock:
            if name not in self.buckets:
                raise HttpError(404, "notFound", "The specified bucket does not exist.")
            return self.buckets[name]

    def _existing(self, bucket: str, name: str, q: dict[str, str]) -> Obj:
        obj = self._bucket(bucket).get(name)
        if obj is None or ("generation" in q and int(q["generation"]) != obj.generation):
            raise HttpError(404, "notFound", f"No such object: {bucket}/{name}")
        self._check(obj, q)
        return obj

    @staticmethod
    def _check(obj: Obj | None, q: dict[str, str]) -> None:
        gen, meta = (obj.generation, obj.metageneration) if obj else (0, 0)
        failed = (("ifGenerationMatch" in q and int(q["ifGenerationMatch"]) != gen)
                  or ("ifGenerationNotMatch" in q and int(q["ifGenerationNotMatch"]) == gen)
                  or ("ifMetagenerationMatch" in q and int(q["ifMetagenerationMatch"]) != meta)
                  or ("ifMetagenerationNotMatch" in q and int(q["ifMetagenerationNotMatch"]) == meta))
        if failed:
            raise HttpError(412, "conditionNotMet",
                            "At least one of the pre-conditions you specified did not hold.")

    def _hook(self, kind: str, bucket: str, name: str) -> None:
        with self._lock:
            pending = self._hooks.get(kind) or []
            fn = pending.pop(0) if pending else None
        if fn is not None:
            fn(bucket, name)  # outside the lock: it may call this server

    def _resource(self, bucket: str, name: str, obj: Obj) -> dict[str, Any]:
        enc = quote(name, safe="")
        stamp = obj.updated.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "kind": "storage#object", "id": f"{bucket}/{name}/{obj.generation}",
            "selfLink": f"{self.url}/storage/v1/b/{bucket}/o/{enc}",
            "mediaLink": f"{self.url}/download/storage/v1/b/{bucket}/o/{enc}?generation={obj.generation}&alt=media",
            "name": name, "bucket": bucket, "generation": str(obj.generation),
            "metageneration": str(obj.metageneration), "contentType": obj.content_type,
            "storageClass": "STANDARD", "size": str(len(obj.data)), "md5Hash": _md5(obj.data),
            "crc32c": _crc32c(obj.data), "etag": _b64(str(obj.generation).encode()),
            "timeCreated": stamp, "updated": stamp,
        }

    @staticmethod
    def _json(doc: dict[str, Any], status: int = 200) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(doc).encode()

    # -- objects ----------------------------------------------------------------------
    def _download(self, bucket: str, name: str, q: dict[str, str], headers: dict[str, str]):
        self._hook("download", bucket, name)
        with self._lock:
            obj = self._existing(bucket, name, q)
        data, status = obj.data, 200
        out = {"Content-Type": obj.content_type, "x-goog-generation": str(obj.generation),
               "x-goog-metageneration": str(obj.metageneration),
               "x-goog-hash": f"crc32c={_crc32c(obj.data)},md5={_md5(obj.data)}",
               "x-goog-stored-content-length": str(len(obj.data)),
               "x-goog-stored-content-encoding": "identity", "x-goog-storage-class": "STANDARD",
               "ETag": _b64(str(obj.generation).encode()), "Accept-Ranges": "bytes"}
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("Range", headers.get("range", "")))
        if match and data:
            first = int(match.group(1))
            last = min(int(match.group(2) or len(data) - 1), len(data) - 1)
            if first >= len(data):
                raise HttpError(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.")
            out["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
            data, status = data[first:last + 1], 206
        return status, out, data

    def _store(self, bucket: str, name: str, q: dict[str, str], meta: dict[str, Any],
               data: bytes, content_type: str) -> tuple[int, dict[str, str], bytes]:
        if not name:
            raise HttpError(400, "required", "Required: object name")
        if "crc32c" in meta and meta["crc32c"] != _crc32c(data):
            raise HttpError(400, "invalid", "Provided CRC32C does not match the object data.")
        if "md5Hash" in meta and meta["md5Hash"] != _md5(data):
            raise HttpError(400, "invalid", "Provided MD5 hash does not match the object data.")
        self._hook("upload", bucket, name)
        with self._lock:
            objects = self._bucket(bucket)
            self._check(objects.get(name), q)
            obj = Obj(data, next(self._generations), 1,
                      meta.get("contentType") or content_type or "application/octet-stream",
                      datetime.now(UTC))
            objects[name] = obj
            return self._json(self._resource(bucket, name, obj))

    def _upload(self, bucket: str, q: dict[str, str],
                headers: dict[str, str], body: bytes):
        kind = q.get("uploadType")
        ctype = headers.get("Content-Type", headers.get("content-type", ""))
        if kind == "media":
            return self._store(bucket, q.get("name", ""), q, {}, body, ctype)
        if kind == "multipart":
            meta, data, part_type = _split_multipart(ctype, body)
            return self._store(bucket, meta.get("name") or q.get("name", ""), q, meta, data, part_type)
        if kind == "resumable":
            meta = json.loads(body or b"{}")
            name = meta.get("name") or q.get("name", "")
            with self._lock:
                self._check(self._bucket(bucket).get(name), q)
                upload_id = f"session-{len(self._sessions) + 1}"
                self._sessions[upload_id] = {
                    "bucket": bucket, "name": name, "query": q, "meta": meta, "data": b"",
                    "type": headers.get("X-Upload-Content-Type", headers.get("x-upload-content-type", ""))}
            location = f"{self.url}/upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=resumable&upload_id={upload_id}"
            return 200, {"Location": location}, b""
        raise HttpError(400, "invalid", f"Unsupported uploadType: {kind}")

    def _resumable_chunk(self, upload_id: str, headers: dict[str, str], body: bytes):
        with self._lock:
            session = self._sessions.get(upload_id)
        if session is None:
            raise HttpError(404, "notFound", "No such upload session.")
        rng = headers.get("Content-Range", headers.get("content-range", ""))
        match = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", rng.strip())
        if not match:
            raise HttpError(400, "invalid", f"Bad Content-Range: {rng!r}")
        if match.group(1) is not None:
            if int(match.group(1)) != len(session["data"]):
                raise HttpError(400, "invalid", "Chunk does not start where the last one ended.")
            session["data"] += body
        total = match.group(3)
        if total != "*" and int(total) == len(session["data"]):
            with self._lock:
                self._sessions.pop(upload_id, None)
            return self._store(session["bucket"], session["name"], session["query"],
                               session["meta"], session["data"], session["type"])
        out = {"Range": f"bytes=0-{len(session['data']) - 1}"} if session["data"] else {}
        return 308, out, b""

    def _list(self, bucket: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        unsupported = {"delimiter", "startOffset", "endOffset", "matchGlob", "versions"} & set(q)
        if unsupported:  # loudly, rather than answering as if they had been applied
            raise HttpError(400, "invalid", f"fake_gcs does not implement {sorted(unsupported)}")
        prefix = q.get("prefix", "")
        size = min(int(q.get("maxResults") or self.page_size), self.page_size)
        after = base64.urlsafe_b64decode(q["pageToken"]).decode() if q.get("pageToken") else ""
        with self._lock:
            objects = self._bucket(bucket)
            names = [n for n in sorted(objects) if n.startswith(prefix) and n > after]
            doc: dict[str, Any] = {"kind": "storage#objects", "items": [
                self._resource(bucket, n, objects[n]) for n in names[:size]]}
        if len(names) > size:
            doc["nextPageToken"] = base64.urlsafe_b64encode(names[size - 1].encode()).decode()
        return self._json(doc)


def _split_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes, str]:
    """(metadata, media, media content type) of a multipart/related upload body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/related") or not match:
        raise HttpError(400, "invalid", "Expected multipart/related with a boundary.")
    sep = b"--" + match.group(1).encode()
    try:  # --b CRLF meta --b CRLF media CRLF --b--
        first = body.index(sep) + len(sep)
        second = body.index(sep, first)
        end = body.rindex(sep + b"--")
    except ValueError:
        raise HttpError(400, "invalid", "Malformed multipart body.") from None

    def split(part: bytes) -> tuple[dict[str, str], bytes]:
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        fields = dict(line.split(":", 1) for line in head.decode().split("\r\n") if ":" in line)
        return {k.strip().lower(): v.strip() for k, v in fields.items()}, content.removesuffix(b"\r\n")

    _, meta_raw = split(body[first:second])
    media_headers, media = split(body[second + len(sep):end])
    return json.loads(meta_raw), media, media_headers.get("content-type", "")
