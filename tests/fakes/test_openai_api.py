"""FakeOpenAI exercised through the real openai client and LangChain's ChatOpenAI over a socket.

The structured-output tests pin down what each LangChain method does with a bad answer,
as observed with openai 3.57 / langchain-openai 1.7.4, because our analysis code has to
handle each of those shapes (a raise, a ``parsing_error``, or a silent ``None``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import openai
import pydantic
import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ConfigDict, Field

from repo_digest.tokens import count_tokens
from tests.fakes.openai_api import ChatRequest, FakeOpenAI, Fault, Reply, example_for_schema, message_text

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-key"
MODEL = "gpt-4o-mini"
METHODS = ("json_schema", "function_calling", "json_mode")
# JSON mode is refused by OpenAI (and the fake) unless the prompt mentions JSON.
PROMPT = "Analyse this commit and answer in JSON.\n\nfix: handle empty diffs in the summary"


class ChangeType(StrEnum):
    FEATURE = "feature"
    FIX = "fix"
    REFACTOR = "refactor"


class Insight(BaseModel):
    model_config = ConfigDict(extra="forbid")

    architecture: str = Field(min_length=1)
    performance: str = Field(min_length=1)
    security: str = Field(min_length=1)
    maintainability: str = Field(min_length=1)


class CommitAnalysis(BaseModel):
    """Shaped like the project's per-commit analysis."""

    change_type: ChangeType
    summary: str = Field(min_length=1)
    key_changes: list[str] = Field(min_length=1)
    insight: Insight | None = None


VALID_ANALYSIS = {"change_type": "fix", "summary": "Fixes it.", "key_changes": ["Handles empty diffs."]}


@pytest.fixture(scope="module")
def module_server() -> Iterator[FakeOpenAI]:
    models = (MODEL, "gpt-4.1-mini")
    with FakeOpenAI(api_key=KEY, models=models, default_json_object=VALID_ANALYSIS) as server:
        yield server


@pytest.fixture
def server(module_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    module_server.reset()
    yield module_server
    assert not module_server.errors, module_server.errors[0]
    assert module_server.scripted == 0, "a scripted answer was never asked for"


def client(server: FakeOpenAI, *, key: str = KEY, max_retries: int = 0, timeout: float = 5) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=max_retries, timeout=timeout)


def chat_model(server: FakeOpenAI, **overrides: Any) -> ChatOpenAI:
    settings: dict[str, Any] = {
        "model": MODEL, "base_url": server.base_url, "api_key": KEY, "max_retries": 0,
        "use_responses_api": False, "timeout": 5, **overrides,
    }
    return ChatOpenAI(**settings)


def structured(server: FakeOpenAI, method: str, **overrides: Any) -> Runnable[Any, dict[str, Any]]:
    model = chat_model(server, **overrides)
    return model.with_structured_output(CommitAnalysis, method=method, include_raw=True)


def ask(openai_client: openai.OpenAI, model: str = MODEL) -> Any:
    return openai_client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])


# ---------------------------------------------------------------------------------------
# The schema-driven example generator


def test_example_validates_against_a_pydantic_model_with_enums_lists_and_refs() -> None:
    schema = CommitAnalysis.model_json_schema()
    assert "$defs" in schema  # the $ref path is really exercised
    value = example_for_schema(schema, seed=3)
    analysis = CommitAnalysis.model_validate(value)
    assert analysis.insight is not None, "optional objects are filled in, as a model would"
    assert len(analysis.key_changes) == 2
    strings = [analysis.summary, *analysis.key_changes, *analysis.insight.model_dump().values()]
    assert len(set(strings)) == len(strings), "strings within one answer differ"
    assert all(s[0].isupper() and s.endswith(".") for s in strings), "readable sentences"


def test_example_varies_with_the_seed_and_is_deterministic() -> None:
    schema = CommitAnalysis.model_json_schema()
    assert example_for_schema(schema, 1) == example_for_schema(schema, 1)
    assert example_for_schema(schema, 1)["summary"] != example_for_schema(schema, 2)["summary"]


def test_example_honours_the_keywords_pydantic_and_hand_written_schemas_use() -> None:
    schema = {
        "type": "object",
        "definitions": {"Level": {"enum": [None, "low", "high"]}},
        "properties": {
            "level": {"$ref": "#/definitions/Level"},
            "kind": {"const": "commit"},
            "mode": {"type": "string", "default": "fast"},
            "note": {"type": ["null", "string"]},
            "legacy": {"type": "string", "nullable": True},
            "gone": {"type": "null"},
            "long": {"type": "string", "minLength": 120},
            "short": {"type": "string", "maxLength": 5},
            "pick": {"oneOf": [{"type": "null"}, {"type": "integer", "minimum": 10, "maximum": 10}]},
            "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "many": {"type": "array", "items": {"type": "boolean"}, "minItems": 5},
            "one": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            "when": {"type": "string", "format": "date-time"},
        },
    }
    value = example_for_schema(schema)
    assert value["level"] in ("low", "high")
    assert value["kind"] == "commit" and value["mode"] == "fast"
    assert isinstance(value["note"], str) and isinstance(value["legacy"], str) and value["gone"] is None
    assert len(value["long"]) >= 120 and len(value["short"]) <= 5
    assert value["pick"] == 10 and 0 < value["score"] <= 1
    assert len(value["many"]) == 5 and all(isinstance(b, bool) for b in value["many"])
    assert len(value["one"]) == 1 and value["when"].endswith("Z")


def test_example_ends_recursive_schemas() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node] = []

    Node.model_validate(example_for_schema(Node.model_json_schema()))


# ---------------------------------------------------------------------------------------
# Through the openai client


def test_plain_completion_is_a_real_chat_completion_with_usage(server: FakeOpenAI) -> None:
    completion = client(server).chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=50, temperature=0.2,
    )
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert choice.finish_reason == "stop" and choice.message.content
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == count_tokens("Be brief.\nHi")
    assert usage.completion_tokens == count_tokens(choice.message.content)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    (request,) = server.requests
    assert (request.method, request.status, request.max_tokens, request.max_tokens_field) == (
        "text", 200, 50, "max_tokens"
    )
    assert request.temperature == 0.2 and request.prompt_tokens == usage.prompt_tokens


def test_function_calling_answers_with_a_call_to_the_chosen_tool(server: FakeOpenAI) -> None:
    tools: list[Any] = [
        {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}},
        {"type": "function",
         "function": {"name": "analyse", "parameters": CommitAnalysis.model_json_schema()}},
    ]
    completion = client(server).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}], tools=tools,
        tool_choice={"type": "function", "function": {"name": "analyse"}},
    )
    choice = completion.choices[0]
    (call,) = choice.message.tool_calls or []
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert call.type == "function" and call.function.name == "analyse" and call.id.startswith("call_")
    CommitAnalysis.model_validate_json(call.function.arguments)
    assert server.requests[0].method == "function_calling"


def test_json_object_needs_the_word_json_in_the_prompt(server: FakeOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="must contain the word 'json'"):
        client(server).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}], response_format={"type": "json_object"}
        )
    assert [r.status for r in server.requests] == [400], "refused requests are recorded too"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b'{"messages": [{"role": "user", "content": "Hi"}]}', "model"),
        (b'{"model": "gpt-4o-mini", "messages": []}', "messages"),
        (b'{"model": "gpt-4o-mini", "messages": ["Hi"]}', "messages[0].role"),
        (b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "response_format": "json"}',
         "response_format"),
        (b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "tools": ["x"]}', "tools"),
        (b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "tools": [], '
         b'"tool_choice": {"type": "function", "function": {"name": "nope"}}}', "tool_choice"),
    ],
)
def test_malformed_requests_are_400_not_a_crash(server: FakeOpenAI, body: bytes, param: str | None) -> None:
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions", data=body, method="POST",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 400 and json.load(error.value)["error"]["param"] == param


def test_streaming_is_refused(server: FakeOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="does not stream"):
        client(server).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                               stream=True)


def test_an_answer_longer_than_max_tokens_is_cut_with_finish_reason_length(server: FakeOpenAI) -> None:
    server.script(Reply(content="one two three four five six seven eight nine ten"))
    completion = client(server).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Count"}], max_completion_tokens=3
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "one two three"
    assert completion.usage is not None and completion.usage.completion_tokens == 3


def test_models_are_listed(server: FakeOpenAI) -> None:
    assert [m.id for m in client(server).models.list()] == [MODEL, "gpt-4.1-mini"]
    assert client(server).models.retrieve(MODEL).owned_by == "fake-openai"


def test_unknown_model_is_not_found(server: FakeOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as error:
        ask(client(server), model="gpt-5-huge")
    assert error.value.code == "model_not_found" and "`gpt-5-huge` does not exist" in error.value.message
    assert [r.status for r in server.requests] == [404]


def test_wrong_or_missing_key_is_401(server: FakeOpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as error:
        ask(client(server, key="sk-wrong"))
    assert error.value.code == "invalid_api_key" and "Incorrect API key provided" in error.value.message
    assert [r.status for r in server.requests] == [401]
    request = urllib.request.Request(f"{server.base_url}/models")  # the client refuses to send no key
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(request)
    assert missing.value.code == 401 and json.load(missing.value)["error"]["code"] == "invalid_api_key"


def test_scripted_status_faults_map_to_openai_exceptions(server: FakeOpenAI) -> None:
    server.script(
        Fault.status(401, "expired"), Fault.status(403, "region blocked"), Fault.status(500),
        Fault.status(502, body="<html>Bad Gateway</html>"),
    )
    for expected in (openai.AuthenticationError, openai.PermissionDeniedError, openai.InternalServerError):
        with pytest.raises(expected):
            ask(client(server))
    with pytest.raises(openai.APIStatusError) as proxy:
        ask(client(server))
    assert proxy.value.status_code == 502 and "Bad Gateway" in proxy.value.response.text
    assert [r.status for r in server.requests] == [401, 403, 500, 502]


def test_rate_limit_is_retried_after_retry_after(server: FakeOpenAI) -> None:
    server.script(Fault.rate_limited(retry_after=1))
    completion = ask(client(server, max_retries=2))
    assert completion.choices[0].message.content
    first, second = server.requests
    assert (first.status, second.status) == (429, 200)
    # The client honours Retry-After rather than its own 0.5 s backoff, and says it retried.
    assert second.received_at - first.received_at >= 0.9
    assert (first.headers["x-stainless-retry-count"], second.headers["x-stainless-retry-count"]) == ("0", "1")


def test_rate_limit_without_retries_is_a_rate_limit_error(server: FakeOpenAI) -> None:
    server.script(Fault.rate_limited(retry_after=30))
    with pytest.raises(openai.RateLimitError) as error:
        ask(client(server))
    assert error.value.response.headers["retry-after"] == "30"


def test_slow_answer_times_the_client_out(server: FakeOpenAI) -> None:
    server.script(Fault.timeout(3))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        ask(client(server, timeout=0.5))
    assert time.monotonic() - started < 2
    assert len(server.requests) == 1


def test_dropped_connection_is_a_connection_error_and_is_retried(server: FakeOpenAI) -> None:
    server.script(Fault.drop_connection())
    with pytest.raises(openai.APIConnectionError):
        ask(client(server))
    server.script(Fault.drop_connection())
    assert ask(client(server, max_retries=1)).choices[0].message.content
    assert [r.status for r in server.requests] == [None, None, 200]


def test_answer_hook_sees_each_request_and_script_comes_first(server: FakeOpenAI) -> None:
    seen: list[ChatRequest] = []

    def answer(request: ChatRequest) -> Reply:
        seen.append(request)
        return Reply(content=f"echo: {request.messages[-1]['content']}", usage={"prompt_tokens": 7})

    server.answer = answer
    server.script(Reply(content="scripted"))
    openai_client = client(server)
    first, second = ask(openai_client), ask(openai_client)
    assert first.choices[0].message.content == "scripted" and len(seen) == 1
    assert second.choices[0].message.content == "echo: Hi"
    assert second.usage is not None and second.usage.prompt_tokens == 7


def test_script_is_consumed_once_each_under_concurrency(server: FakeOpenAI) -> None:
    server.script(*(Reply(content=f"answer {n}") for n in range(12)))
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: ask(client(server)).choices[0].message.content, range(12)))
    assert sorted(answers) == sorted(f"answer {n}" for n in range(12))
    assert len(server.requests) == 12


def test_requests_never_keep_the_api_key(server: FakeOpenAI) -> None:
    ask(client(server))
    (request,) = server.requests
    assert "authorization" not in request.headers and KEY not in repr(request)
    server.clear_requests()
    assert server.requests == []


def test_delay_slows_every_answer() -> None:
    with FakeOpenAI(api_key=None, delay=0.3) as slow:
        started = time.monotonic()
        ask(client(slow, key="anything"))
        assert time.monotonic() - started >= 0.3


# ---------------------------------------------------------------------------------------
# Through LangChain's ChatOpenAI.with_structured_output


@pytest.mark.parametrize("method", METHODS)
def test_default_answer_parses_for_every_method(server: FakeOpenAI, method: str) -> None:
    result = structured(server, method).invoke(PROMPT)
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], CommitAnalysis)
    assert result["raw"].usage_metadata["input_tokens"] == count_tokens(PROMPT)
    assert result["raw"].usage_metadata["output_tokens"] > 0
    (request,) = server.requests
    assert request.method == method and request.prompt_tokens == count_tokens(message_text(request.messages))


def test_what_langchain_sends_for_each_method(server: FakeOpenAI) -> None:
    for method in METHODS:
        structured(server, method, max_tokens=400, temperature=0).invoke(PROMPT)
    schema_request, tool_request, json_request = server.requests
    for request in server.requests:
        # ChatOpenAI renames max_tokens; stream=False is always sent.
        assert (request.max_tokens_field, request.max_tokens, request.body["stream"]) == (
            "max_completion_tokens", 400, False
        )
        assert request.temperature == 0 and request.headers["user-agent"].startswith("OpenAI/Python")
    # json_schema: the openai client's strict schema (every field required, $defs kept).
    spec = (schema_request.response_format or {})["json_schema"]
    assert spec["name"] == "CommitAnalysis" and spec["strict"] is True
    assert set(spec["schema"]["required"]) == set(CommitAnalysis.model_fields)
    assert "$defs" in spec["schema"] and schema_request.tools is None
    # function_calling: one forced tool with LangChain's own (dereferenced, not strict) schema.
    (tool,) = tool_request.tools or []
    assert tool_request.tool_choice == {"type": "function", "function": {"name": "CommitAnalysis"}}
    assert tool_request.body["parallel_tool_calls"] is False and "strict" not in tool["function"]
    assert "$defs" not in tool["function"]["parameters"]
    assert tool["function"]["parameters"]["required"] == ["change_type", "summary", "key_changes"]
    # json_mode: only the format; the schema is up to the prompt.
    assert json_request.response_format == {"type": "json_object"} and json_request.tools is None


Outcome = tuple[Literal["raises", "parsing_error", "silent_none"], type[BaseException] | None]

# What each method does with a bad answer (include_raw=True). "raises" happens inside the
# openai client's parse() (LangChain sends every response_format request through it), so
# include_raw does not catch it; "silent_none" is parsed=None AND parsing_error=None, with
# the bad arguments only in raw.invalid_tool_calls.
OBSERVED: dict[tuple[str, str], Outcome] = {
    ("json_schema", "truncated"): ("raises", openai.LengthFinishReasonError),
    ("json_schema", "invalid_json"): ("raises", pydantic.ValidationError),
    ("json_schema", "empty"): ("parsing_error", ValueError),
    ("function_calling", "truncated"): ("silent_none", None),
    ("function_calling", "invalid_json"): ("silent_none", None),
    ("function_calling", "empty"): ("parsing_error", pydantic.ValidationError),  # "" is read as {}
    ("json_mode", "truncated"): ("raises", openai.LengthFinishReasonError),
    ("json_mode", "invalid_json"): ("parsing_error", OutputParserException),
    ("json_mode", "empty"): ("parsing_error", OutputParserException),
}
FAULTS = {"truncated": Fault.truncated, "invalid_json": Fault.invalid_json, "empty": Fault.empty}


@pytest.mark.parametrize(("method", "fault"), list(OBSERVED))
def test_bad_answers_per_method(server: FakeOpenAI, method: str, fault: str) -> None:
    server.script(FAULTS[fault]())
    outcome, error = OBSERVED[(method, fault)]
    if outcome == "raises":
        assert error is not None
        with pytest.raises(error):
            structured(server, method).invoke(PROMPT)
        return
    result = structured(server, method).invoke(PROMPT)
    assert result["parsed"] is None
    if outcome == "parsing_error":
        assert isinstance(result["parsing_error"], error or Exception)
    else:
        assert result["parsing_error"] is None
        (invalid,) = result["raw"].invalid_tool_calls
        assert "are not valid JSON" in (invalid["error"] or "")
    expected_finish = "length" if fault == "truncated" else None
    if expected_finish:
        assert result["raw"].response_metadata["finish_reason"] == expected_finish


def test_function_calling_without_include_raw_returns_none_on_a_truncated_answer(server: FakeOpenAI) -> None:
    server.script(Fault.truncated())
    chain = chat_model(server).with_structured_output(CommitAnalysis, method="function_calling")
    assert chain.invoke(PROMPT) is None


def test_json_mode_repairs_a_cut_answer_that_claims_to_be_complete(server: FakeOpenAI) -> None:
    # LangChain's JSON parser closes open strings and brackets, so a cut answer with
    # finish_reason "stop" (some OpenAI-compatible servers do this) parses silently.
    server.script(Reply(content='{"change_type": "fix", "summary": "Fix", "key_changes": ["Handles emp'))
    parsed = structured(server, "json_mode").invoke(PROMPT)["parsed"]
    assert parsed == CommitAnalysis(change_type=ChangeType.FIX, summary="Fix", key_changes=["Handles emp"])


def test_langchain_retries_a_server_error_through_the_openai_client(server: FakeOpenAI) -> None:
    server.script(Fault.status(503, "overloaded", {"Retry-After": "0.1"}))
    result = structured(server, "function_calling", max_retries=1).invoke(PROMPT)
    assert isinstance(result["parsed"], CommitAnalysis)
    assert [r.status for r in server.requests] == [503, 200]


def test_langchain_timeout_is_the_openai_timeout_error(server: FakeOpenAI) -> None:
    server.script(Fault.timeout(3))
    with pytest.raises(openai.APITimeoutError):
        structured(server, "json_schema", timeout=0.5).invoke(PROMPT)


# ---------------------------------------------------------------------------------------
# Command line


def test_command_line_server() -> None:
    args = ["--port", "0", "--key", KEY, "--model", MODEL, "o4-mini"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_api", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("FakeOpenAI serving at http://127.0.0.1:") and line.rstrip().endswith("/v1")
        base_url = line.split(" at ")[-1].strip()
        openai_client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        assert [m.id for m in openai_client.models.list()] == [MODEL, "o4-mini"]
        assert ask(openai_client).choices[0].message.content
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
