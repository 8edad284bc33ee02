"""A fake OpenAI Chat Completions API on a real socket, for LLM calls without a model.

Serves what ``openai.OpenAI`` and LangChain's ``ChatOpenAI`` (``use_responses_api=False``)
call, in the JSON shapes they parse:

    POST /v1/chat/completions   plain text, tools (function calling), response_format
                                json_schema or json_object; no streaming
    GET  /v1/models             the served models
    GET  /v1/models/{id}        one of them

The default answer is driven by the request alone, so the fake knows nothing about our
models: a tool call to the requested (else the first) tool with arguments generated from
its ``parameters`` schema, content generated from a ``json_schema`` response format, or
``default_json_object`` for JSON mode. The answer for one prompt is always the same (like
temperature 0), and different prompts get different strings.

Behaviour copied from OpenAI because clients depend on it: the key is checked first
(401), then the body (400, including JSON mode without the word "json" in the messages),
then the model (404); an answer longer than ``max_tokens``/``max_completion_tokens`` is
cut to that many tokens with ``finish_reason: "length"``; token usage is counted with
o200k_base over the messages' text and the answer's text (tool and schema definitions,
which OpenAI also bills, are not counted).

Usage::

    with FakeOpenAI(api_key="sk-test") as server:
        server.script(Fault.rate_limited(retry_after=1), Reply(content="hi"))
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")

or in the foreground: ``python -m tests.fakes.openai_api --port 8766 --model gpt-4o-mini``.
"""

from __future__ import annotations

import argparse
import hmac
import itertools
import json
import math
import sys
import threading
import time
import traceback
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from tests.fakes import BackgroundServer, serve_until_stopped

try:
    from repo_digest.tokens import count_tokens, encoding
except ModuleNotFoundError:  # `python -m` from the project root: only pytest/Airflow add plugins/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))
    from repo_digest.tokens import count_tokens, encoding

Json = dict[str, Any]
Method = Literal["function_calling", "json_schema", "json_mode", "text"]
FaultKind = Literal["status", "timeout", "truncated", "invalid_json", "empty", "drop_connection"]

DEFAULT_MODELS = ("gpt-4o-mini",)
CHAT_PATH = "/v1/chat/completions"
DEFAULT_TEXT = "The change looks small and self-contained."
_CREATED = 1_700_000_000  # a fixed "created" for /v1/models, as the real one never changes


# ---------------------------------------------------------------------------------------
# What a test sees and scripts


@dataclass(frozen=True)
class ChatRequest:
    """One ``POST /v1/chat/completions`` as the server saw it. The API key is never kept."""

    model: str
    messages: list[Json]
    tools: list[Json] | None
    tool_choice: Any  # "auto", "none", "required", {"type": "function", ...} or None
    response_format: Json | None
    max_tokens: int | None  # from max_completion_tokens or max_tokens, whichever was sent
    max_tokens_field: str | None  # which of the two it was ("max_completion_tokens", ...)
    temperature: float | None
    method: Method
    prompt_tokens: int
    body: Json  # the whole JSON body, for fields not lifted out above
    headers: dict[str, str]  # lower-cased names; Authorization removed
    received_at: float  # time.monotonic(), e.g. to check a client waited for Retry-After
    status: int | None = None  # the answer's status once decided; None before, or if dropped

    @property
    def schema(self) -> Json | None:
        """The JSON schema the answer must follow: the called tool's or the response format's."""
        if self.method == "function_calling":
            return _function(_chosen_tool(self)).get("parameters") or {}
        if self.method == "json_schema":
            return (self.response_format or {}).get("json_schema", {}).get("schema") or {}
        return None


@dataclass(frozen=True)
class Reply:
    """An answer to send. Content and tool arguments both None means the default answer,
    still with ``finish_reason``/``usage`` overridden when given."""

    content: str | None = None
    tool_arguments: Mapping[str, Any] | str | None = None  # a str is sent as is, valid or not
    finish_reason: str | None = None  # default "tool_calls" with arguments, else "stop"
    usage: Mapping[str, int] | None = None  # overrides the counted usage, key by key
    tool_name: str | None = None  # default: the tool tool_choice names, else the first


@dataclass(frozen=True)
class Fault:
    """Something going wrong. Build with the class methods."""

    kind: FaultKind
    status_code: int = 200
    message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | bytes | None = None  # replaces the JSON error body (e.g. a proxy's HTML page)
    seconds: float = 0.0

    @classmethod
    def status(
        cls, code: int, message: str | None = None, headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> Fault:
        """An HTTP error with OpenAI's ``{"error": {...}}`` body (or ``body`` verbatim)."""
        return cls("status", code, message or HTTPStatus(code).phrase, dict(headers or {}), body)

    @classmethod
    def rate_limited(cls, retry_after: float = 1) -> Fault:
        seconds = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        message = "Rate limit reached for requests. Please try again later."
        return cls.status(429, message, {"Retry-After": seconds})

    @classmethod
    def timeout(cls, seconds: float) -> Fault:
        """Answer normally, but only after ``seconds``, so an impatient client gives up."""
        return cls("timeout", seconds=seconds)

    @classmethod
    def truncated(cls) -> Fault:
        """The answer cut in the middle with ``finish_reason: "length"``, as when the model
        runs out of tokens."""
        return cls("truncated")

    @classmethod
    def invalid_json(cls) -> Fault:
        """Content / arguments that are not JSON (a Python-style dict, a classic mistake)."""
        return cls("invalid_json")

    @classmethod
    def empty(cls) -> Fault:
        """Empty content / empty tool arguments with an ordinary finish_reason."""
        return cls("empty")

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop_connection")


AnswerHook = Callable[[ChatRequest], Reply | Fault | None]


class ApiError(Exception):
    """Turned into an OpenAI-style ``{"error": {...}}`` response."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


# ---------------------------------------------------------------------------------------
# Example values from a JSON schema

_SENTENCES = (
    "Adds retry handling to the fetch step.",
    "Fixes an off-by-one error in pagination.",
    "Refactors the parser into smaller functions.",
    "Updates dependencies to their latest versions.",
    "Documents the configuration options.",
    "Removes dead code from the scheduler.",
    "Speeds up the diff summary for large commits.",
    "Adds tests for empty repositories.",
    "Renames a module for clarity.",
    "Tightens input validation on dates.",
    "Improves the error message for bad tokens.",
    "Moves constants into one place.",
)
_FORMATS = {
    "date-time": "2026-02-19T08:30:00Z",
    "date": "2026-02-19",
    "time": "08:30:00",
    "email": "alice@example.com",
    "uri": "https://example.com/commit/1",
    "url": "https://example.com/commit/1",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
}
_MAX_DEPTH = 8  # recursive schemas (a tree of nodes) stop nesting here


def example_for_schema(schema: Mapping[str, Any], seed: int = 0) -> Any:
    """A value valid against ``schema``, as a model would fill it: every property present,
    two items per list (within minItems/maxItems), the first non-null alternative, a
    non-null ``default`` as is, strings as short sentences that differ within one value
    and with ``seed``. ``pattern`` is not honoured."""
    return _Generator(schema, seed).value(schema, 0)


class _Generator:
    def __init__(self, root: Mapping[str, Any], seed: int) -> None:
        self.root = root
        self.offset = seed % len(_SENTENCES)  # the seed picks where the sentences start
        self.counter = itertools.count()  # one tick per leaf, so strings within a value differ

    def value(self, schema: Mapping[str, Any] | bool, depth: int) -> Any:
        if not isinstance(schema, Mapping):  # `true` allows anything: a string will do
            return self.string({})
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("default") is not None:
            return schema["default"]
        if "enum" in schema:
            choices = [choice for choice in schema["enum"] if choice is not None] or [None]
            return choices[(self.offset + next(self.counter)) % len(choices)]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(option) for option in schema[key]]
                usable = [option for option in options if not _is_null(option)]
                return self.value(usable[0], depth) if usable else None
        kind = _type_of(schema)
        if kind == "null":
            return None
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, depth)
        if kind in ("integer", "number"):
            return self.number(schema, kind)
        if kind == "boolean":
            return next(self.counter) % 2 == 0
        return self.string(schema)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow ``$ref`` (``#/$defs/X``, ``#/definitions/X``) and flatten ``allOf``."""
        for _ in range(32):  # a $ref chain longer than this is a broken schema
            if "$ref" in schema:
                target = self.pointer(schema["$ref"])
                # Keywords beside a $ref (a description, a default) apply too.
                schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            elif "allOf" in schema:
                merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
                for part in schema["allOf"]:
                    part = self.resolve(part)
                    merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
                    merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                    merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
                schema = merged
            else:
                return schema
        raise ValueError("$ref/allOf nested too deep")

    def pointer(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            raise ValueError(f"only local $refs are supported, got {ref!r}")
        node: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def object(self, schema: Mapping[str, Any], depth: int) -> Json:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        result: Json = {}
        for name, sub in properties.items():
            # Past the depth limit only what must be there, to end recursive schemas.
            if depth < _MAX_DEPTH or name in required:
                result[name] = self.value(sub, depth + 1)
        return result

    def array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = [self.value(sub, depth + 1) for sub in schema.get("prefixItems") or ()]
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = max(low, 0 if depth >= _MAX_DEPTH else 2)
        count = min(count, int(high)) if high is not None else count
        items = schema.get("items", {})
        if items is False:  # a closed tuple: just its prefixItems
            return prefix
        rest = [self.value(items, depth + 1) for _ in range(max(count - len(prefix), 0))]
        return prefix + rest

    def number(self, schema: Mapping[str, Any], kind: str) -> int | float:
        step = 1 if kind == "integer" else 0.5
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is None and schema.get("exclusiveMinimum") is not None:
            low = schema["exclusiveMinimum"] + step
        if high is None and schema.get("exclusiveMaximum") is not None:
            high = schema["exclusiveMaximum"] - step
        value = (low if low is not None else 1) + step * (next(self.counter) % 3)
        value = min(value, high) if high is not None else value
        return math.ceil(value) if kind == "integer" else float(value)

    def string(self, schema: Mapping[str, Any]) -> str:
        n = next(self.counter)
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        text = _SENTENCES[(self.offset + n) % len(_SENTENCES)]
        if n >= len(_SENTENCES):  # keep strings distinct past the end of the list
            text = f"{text[:-1]} (part {n // len(_SENTENCES) + 1})."
        while len(text) < int(schema.get("minLength", 0)):
            text = f"{text} {_SENTENCES[(self.offset + n + 1) % len(_SENTENCES)]}"
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])]
        return text


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the value, not the null
        kind = next((k for k in kind if k != "null"), "null")
    if kind:
        return str(kind)
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _is_null(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "null" or ("const" in schema and schema["const"] is None)


# ---------------------------------------------------------------------------------------
# Reading a request


def message_text(messages: Iterable[Mapping[str, Any]]) -> str:
    """The text of ``messages`` that prompt tokens are counted over: contents (strings or
    text parts) and the names and arguments of earlier tool calls, one per line."""
    pieces: list[str] = []
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        if isinstance(content, str):
            pieces.append(content)
        elif isinstance(content, list):
            pieces += [part.get("text") or "" for part in content if isinstance(part, Mapping)]
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            pieces += [function.get("name") or "", function.get("arguments") or ""]
    return "\n".join(piece for piece in pieces if piece)


def _function(tool: Any) -> Json:
    """A tool's (or a tool_choice's) "function" object; {} for anything malformed."""
    function = tool.get("function") if isinstance(tool, Mapping) else None
    return dict(function) if isinstance(function, Mapping) else {}


def _chosen_tool(request: ChatRequest) -> Json | None:
    """The tool a model must call: the one ``tool_choice`` names, else the first."""
    tools = request.tools or []
    choice = request.tool_choice
    if isinstance(choice, Mapping):
        name = _function(choice).get("name")
        return next((t for t in tools if _function(t).get("name") == name), None)
    return tools[0] if tools else None


def _method_of(body: Mapping[str, Any]) -> Method:
    response_format = body.get("response_format")
    response_format = response_format if isinstance(response_format, Mapping) else {}
    forced_tool = isinstance(body.get("tool_choice"), Mapping) or body.get("tool_choice") == "required"
    if body.get("tools") and body.get("tool_choice") != "none" and (forced_tool or not response_format):
        return "function_calling"
    if response_format.get("type") == "json_schema":
        return "json_schema"
    if response_format.get("type") == "json_object":
        return "json_mode"
    return "text"


def _validate(body: Any) -> None:
    """The 400s OpenAI answers before looking at the model."""
    if not isinstance(body, Mapping):
        raise ApiError(400, "We could not parse the JSON body of your request. (HINT: This likely means "
                       "you aren't using your HTTP library correctly.)")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ApiError(400, "you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "[] is too short - 'messages'", "empty_array", "messages")
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message:
            raise ApiError(400, f"Missing required parameter: 'messages[{index}].role'.",
                           "missing_required_parameter", f"messages[{index}].role")
    if body.get("stream"):
        raise ApiError(400, "This fake does not stream; send stream=false.", param="stream")
    _validate_tools(body.get("tools"), body.get("tool_choice"))
    response_format = body.get("response_format") or {}
    if not isinstance(response_format, Mapping):
        raise ApiError(400, "Invalid type for 'response_format': expected an object.",
                       param="response_format")
    if response_format.get("type") == "json_schema" and "json_schema" not in response_format:
        raise ApiError(400, "Missing required parameter: 'response_format.json_schema'.",
                       "missing_required_parameter", "response_format.json_schema")
    # A real trap: JSON mode is refused unless the prompt asks for JSON.
    if response_format.get("type") == "json_object" and "json" not in message_text(messages).lower():
        raise ApiError(400, "'messages' must contain the word 'json' in some form, to use 'response_format' "
                       "of type 'json_object'.", param="messages")


def _validate_tools(tools: Any, choice: Any) -> None:
    named = isinstance(tools, list) and all(_function(t).get("name") for t in tools)
    if tools is not None and not named:
        raise ApiError(400, "Missing required parameter: 'tools[0].function.name'.", param="tools")
    wanted = _function(choice).get("name") if isinstance(choice, Mapping) else None
    if wanted is not None and wanted not in [_function(t).get("name") for t in tools or ()]:
        raise ApiError(400, f"Invalid value for 'tool_choice': no function named {wanted!r} was specified "
                       "in the 'tools' parameter.", param="tool_choice")


def _recordable(body: Any) -> bool:
    if not isinstance(body, Mapping):
        return False
    return isinstance(body.get("model"), str) and isinstance(body.get("messages"), list)


def _to_request(body: Json, headers: Mapping[str, str]) -> ChatRequest:
    """The record of a request, built before it is validated: tolerant of odd fields."""
    field_name = next((n for n in ("max_completion_tokens", "max_tokens") if body.get(n) is not None), None)
    limit = body.get(field_name) if field_name else None
    tools, response_format = body.get("tools"), body.get("response_format")
    return ChatRequest(
        model=body["model"],
        messages=list(body["messages"]),
        tools=tools if isinstance(tools, list) else None,
        tool_choice=body.get("tool_choice"),
        response_format=response_format if isinstance(response_format, dict) else None,
        max_tokens=limit if isinstance(limit, int) else None,
        max_tokens_field=field_name,
        temperature=body.get("temperature"),
        method=_method_of(body),
        prompt_tokens=count_tokens(message_text(body["messages"])),
        body=body,
        headers={k: v for k, v in headers.items() if k != "authorization"},
        received_at=time.monotonic(),
    )


# ---------------------------------------------------------------------------------------
# Building an answer


@dataclass(frozen=True)
class _Answer:
    """The text an answer carries and where it goes."""

    text: str
    as_tool_call: bool
    tool_name: str | None
    finish_reason: str | None = None
    usage: Mapping[str, int] | None = None


def _dumps(value: Any) -> str:
    # Models write non-ASCII text as is, not as \u escapes (which also count more tokens).
    return json.dumps(dict(value) if isinstance(value, Mapping) else value, ensure_ascii=False)


def _cut_to_tokens(text: str, tokens: int) -> str:
    enc = encoding()
    return enc.decode(enc.encode(text, disallowed_special=())[:tokens], errors="ignore")


def _cut_in_half(text: str) -> str:
    """About half of ``text`` at a token boundary; always shorter, even for one token ("{}")."""
    half = _cut_to_tokens(text, count_tokens(text) // 2)
    return half if half and len(half) < len(text) else text[: len(text) // 2]


def _not_json(value: Any) -> str:
    # Python's repr (single quotes, True/None) is what models often send instead of JSON.
    text = repr(value)
    try:
        json.loads(text)
    except ValueError:
        return text
    return f"{{{text},}}"  # repr happened to be JSON ({}, 1, []): make sure it is not


def _completion_json(request: ChatRequest, answer: _Answer) -> Json:
    text, finish_reason = answer.text, answer.finish_reason
    if request.max_tokens is not None and count_tokens(text) > request.max_tokens:
        text, finish_reason = _cut_to_tokens(text, request.max_tokens), "length"
    message: Json = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if answer.as_tool_call:
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        function = {"name": answer.tool_name or "", "arguments": text}
        message["tool_calls"] = [{"id": call_id, "type": "function", "function": function}]
    else:
        message["content"] = text
    completion_tokens = count_tokens(text)
    usage = {
        "prompt_tokens": request.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": request.prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
        **(answer.usage or {}),
    }
    finish_reason = finish_reason or ("tool_calls" if answer.as_tool_call else "stop")
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_fake_openai",
    }


def _error_json(status: int, message: str, code: str | None = None, param: str | None = None) -> Json:
    kind = {401: "invalid_request_error", 403: "permission_denied", 429: "requests"}.get(
        status, "server_error" if status >= 500 else "invalid_request_error"
    )
    if code is None:
        code = {429: "rate_limit_exceeded", 500: "server_error"}.get(status)
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# ---------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class _Response:
    status: int | None  # None: drop the connection
    headers: Mapping[str, str]
    body: bytes
    sleep: float = 0.0  # wait this long before sending


class FakeOpenAI(BackgroundServer):
    """A threaded HTTP server on 127.0.0.1 that answers like api.openai.com/v1.

    ``answer`` (settable at any time) may return a Reply or Fault per request (None: the
    default answer); ``script(...)`` queues Replies/Faults that come first, in order.
    Both apply only to requests that pass the key, body and model checks.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = "sk-test",
        models: Sequence[str] = DEFAULT_MODELS,
        delay: float = 0.0,
        default_json_object: Mapping[str, Any] | None = None,
        default_text: str = DEFAULT_TEXT,
    ) -> None:
        self.api_key = api_key
        self.models = tuple(models)
        self.delay = delay
        self.default_json_object = dict(default_json_object or {})
        self.default_text = default_text
        self.answer: AnswerHook | None = None
        self.errors: list[str] = []  # tracebacks of the fake's own bugs (sent as 500)
        self._script: deque[Reply | Fault] = deque()
        self._requests: list[ChatRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # wakes handlers sleeping through a delay
        self._server = _Server((host, port), _Handler, self)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        encoding()  # load the tokenizer now, so the first request is not slow
        self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        self._stopping.set()  # handlers sleeping through a delay end now
        super().stop()

    # -- configuration and inspection ---------------------------------------------------

    def script(self, *items: Reply | Fault) -> None:
        """Queue answers for the next requests, used one per request before ``answer``."""
        with self._lock:
            self._script.extend(items)

    @property
    def scripted(self) -> int:
        """How many scripted answers are still queued."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[ChatRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Forget requests, the script and the hook: a clean server between tests."""
        with self._lock:
            self._requests.clear()
            self._script.clear()
        self.answer = None

    def default_reply(self, request: ChatRequest) -> Reply:
        """The schema-driven answer the server gives when nothing is scripted."""
        seed = zlib.crc32(message_text(request.messages).encode("utf-8")) % 1000  # same prompt, same answer
        if request.method == "function_calling":
            return Reply(tool_arguments=example_for_schema(request.schema or {}, seed))
        if request.method == "json_schema":
            return Reply(content=_dumps(example_for_schema(request.schema or {}, seed)))
        if request.method == "json_mode":
            return Reply(content=_dumps(self.default_json_object))
        return Reply(content=self.default_text)

    # -- request handling ---------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], raw_body: bytes) -> _Response:
        """Answer one request (``headers`` with lower-cased names). Called from handler threads."""
        path = path.split("?", 1)[0].rstrip("/")
        try:
            response = self._route(method, path, headers, raw_body)
        except ApiError as error:
            response = self._error(error)
        except Exception:  # a bug in the fake: answer 500 and keep the traceback for the test
            self.errors.append(traceback.format_exc())
            response = self._json(500, _error_json(500, "The fake server had an error."))
        if path == CHAT_PATH:  # a slow model: every completion answer waits, errors too
            response = replace(response, sleep=response.sleep + self.delay)
        return response

    def _route(self, method: str, path: str, headers: Mapping[str, str], raw_body: bytes) -> _Response:
        if method == "POST" and path == CHAT_PATH:
            return self._chat(headers, raw_body)
        self._check_key(headers)
        if method == "GET" and path == "/v1/models":
            return self._json(200, {"object": "list", "data": [_model_json(m) for m in self.models]})
        if method == "GET" and path.startswith("/v1/models/"):
            return self._json(200, _model_json(self._model(path.removeprefix("/v1/models/"))))
        raise ApiError(404, f"Invalid URL ({method} {path})")

    def _check_key(self, headers: Mapping[str, str]) -> None:
        if self.api_key is None:
            return
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if not (scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), self.api_key)):
            raise ApiError(401, "Incorrect API key provided", "invalid_api_key")

    def _model(self, name: str) -> str:
        if name not in self.models:
            raise ApiError(404, f"The model `{name}` does not exist or you do not have access to it.",
                           "model_not_found")
        return name

    def _chat(self, headers: Mapping[str, str], raw_body: bytes) -> _Response:
        try:
            body = json.loads(raw_body or b"null")
        except ValueError:
            body = None
        # Record whatever names a model and has messages, refused or not, so a test can
        # count a client's attempts; a body too broken for that is only answered.
        request = _to_request(body, headers) if _recordable(body) else None
        if request is not None:
            with self._lock:
                self._requests.append(request)
        try:
            self._check_key(headers)  # OpenAI's order: key, then body, then model
            _validate(body)
            assert request is not None  # _validate passed, so it was recordable
            self._model(request.model)
            response = self._respond(request)
        except ApiError as error:
            response = self._error(error)
        if request is not None:
            self._record_status(request, response.status)
        return response

    def _respond(self, request: ChatRequest) -> _Response:
        with self._lock:
            item: Reply | Fault | None = self._script.popleft() if self._script else None
        if item is None and self.answer is not None:
            item = self.answer(request)
        if isinstance(item, Fault):
            return self._fault(request, item)
        return self._json(200, _completion_json(request, self._answer(request, item)))

    def _fault(self, request: ChatRequest, fault: Fault) -> _Response:
        if fault.kind == "status":
            if fault.body is not None:
                body = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
                return _Response(fault.status_code, {"Content-Type": "text/html", **fault.headers}, body)
            return self._json(fault.status_code, _error_json(fault.status_code, fault.message), fault.headers)
        if fault.kind == "drop_connection":
            return _Response(None, {}, b"")
        if fault.kind == "timeout":
            hooked = self.answer(request) if self.answer is not None else None
            reply = hooked if isinstance(hooked, Reply) else None
            answer = _completion_json(request, self._answer(request, reply))
            return replace(self._json(200, answer), sleep=fault.seconds)
        default = self._answer(request, None)
        if fault.kind == "truncated":
            cut = replace(default, text=_cut_in_half(default.text), finish_reason="length")
            return self._json(200, _completion_json(request, cut))
        value = json.loads(default.text) if default.text and request.method != "text" else default.text
        text = _not_json(value) if fault.kind == "invalid_json" else ""
        return self._json(200, _completion_json(request, replace(default, text=text)))

    def _answer(self, request: ChatRequest, reply: Reply | None) -> _Answer:
        """Resolve a Reply (or the default) to the text to send and where to send it."""
        if reply is None or (reply.content is None and reply.tool_arguments is None):
            overrides = reply or Reply()
            reply = replace(self.default_reply(request), finish_reason=overrides.finish_reason,
                            usage=overrides.usage, tool_name=overrides.tool_name)
        if reply.tool_arguments is not None:
            arguments = reply.tool_arguments
            text = arguments if isinstance(arguments, str) else _dumps(arguments)
            name = reply.tool_name or _function(_chosen_tool(request)).get("name")
            return _Answer(text, True, name, reply.finish_reason, reply.usage)
        return _Answer(reply.content or "", False, None, reply.finish_reason, reply.usage)

    def _record_status(self, request: ChatRequest, status: int | None) -> None:
        with self._lock:
            for index, seen in enumerate(self._requests):
                if seen is request:  # identity: equal requests may be recorded twice
                    self._requests[index] = replace(request, status=status)
                    return

    def _error(self, error: ApiError) -> _Response:
        return self._json(error.status, _error_json(error.status, error.message, error.code, error.param))

    def _json(self, status: int, body: Json, headers: Mapping[str, str] | None = None) -> _Response:
        base = {
            "Content-Type": "application/json",
            "x-request-id": f"req_{uuid.uuid4().hex}",
            "openai-processing-ms": "1",
        }
        return _Response(status, {**base, **(headers or {})}, json.dumps(body, ensure_ascii=False).encode())

    def sleep(self, seconds: float) -> None:
        """Wait, but wake early when the server stops, so teardown never hangs."""
        if seconds > 0:
            self._stopping.wait(seconds)


def _model_json(name: str) -> Json:
    return {"id": name, "object": "model", "created": _CREATED, "owned_by": "fake-openai"}


# ---------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block shutdown

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeOpenAI
    ) -> None:
        super().__init__(address, handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients giving up (timeouts) and dropped connections are normal here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx's connection pool expects
    timeout = 30  # close idle keep-alive connections eventually
    # Headers and body go out as separate writes; with Nagle on, a keep-alive client waits
    # ~40 ms for the delayed ACK on every request.
    disable_nagle_algorithm = True
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""  # read it all: keeps the connection usable
        fake = self.server.fake
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = fake.handle(self.command, self.path, headers, raw_body)
        fake.sleep(response.sleep)
        if response.status is None:
            self.close_connection = True  # the client sees the connection close with no answer
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


# ---------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.openai_api", description="Serve a fake OpenAI Chat Completions API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    parser.add_argument("--key", help="require this API key (default: accept any)")
    parser.add_argument("--model", action="extend", nargs="+", metavar="M",
                        help=f"a model to serve (repeatable; default {', '.join(DEFAULT_MODELS)})")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    args = parser.parse_args(argv)

    server = FakeOpenAI(host=args.host, port=args.port, api_key=args.key,
                        models=args.model or DEFAULT_MODELS, delay=args.delay)
    return serve_until_stopped(server, "FakeOpenAI serving at {server.base_url}")


if __name__ == "__main__":
    raise SystemExit(main())
