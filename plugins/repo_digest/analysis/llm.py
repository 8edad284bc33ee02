"""The LLM analyzer: one structured request per commit, within the token budget.

Outcomes, by design never silent:
- a valid, tier-complete answer: an ``analyzer="llm"`` record;
- an invalid, truncated or empty answer (LangChain's function calling returns None for
  these without raising): one repair request, then the rule-based record with
  ``fallback_reason`` saying why;
- 429, 5xx, time-outs: retried with back-off honouring Retry-After, then a fallback;
- 401, 403, an unknown model: FatalLLMError at once, no retries: the run must fail
  rather than publish a page of stand-ins.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from repo_digest.analysis.answer import CommitAnswer, IncompleteAnswer, to_analysis
from repo_digest.analysis.grounding import ground_text, known_paths
from repo_digest.analysis.llm_settings import LLMSettings
from repo_digest.analysis.prompts import Prompt
from repo_digest.analysis.record import CommitAnalysis, Coverage, Importance, LLMUsage, SkippedFile
from repo_digest.diffs import AnalysisInput, rank_key
from repo_digest.tokens import clip_to_tokens, count_tokens

log = logging.getLogger(__name__)

PROMPT_NAME = "analyze_commit"
# Output budgets shrink with the tier. The tier is the model's call, so the request gets
# the budget of one tier above the rule-based score; a truncated answer is repaired
# with the high budget.
OUTPUT_TOKENS = {Importance.LOW: 500, Importance.MEDIUM: 1000, Importance.HIGH: 2000}
_ONE_UP = {Importance.LOW: Importance.MEDIUM, Importance.MEDIUM: Importance.HIGH, Importance.HIGH: Importance.HIGH}
MAX_LISTED_FILES = 200
MAX_PROBLEM_CHARS = 300
# Chat framing the tokenizer does not see in our text (role markers, tool wrapper).
_MESSAGE_OVERHEAD_TOKENS = 16
_DATA_TAGS = ("<commit_data>", "</commit_data>")


class FatalLLMError(RuntimeError):
    """Credentials or model refused: every other commit would fail the same way."""


class AnswerProblem(Exception):
    """This answer cannot be used; ``reason`` is shown to the reader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CallStats:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    problems: list[str] = field(default_factory=list)

    def usage(self) -> LLMUsage:
        return LLMUsage(requests=self.requests, prompt_tokens=self.prompt_tokens,
                        completion_tokens=self.completion_tokens)  # fmt: skip


# --- the prompt ----------------------------------------------------------------------
def _data(text: str) -> str:
    """Repository text cannot close the data block it is quoted in."""
    for tag in _DATA_TAGS:
        text = text.replace(tag, tag.replace("_", "-"))
    return text


def _user_variables(inp: AnalysisInput, rules: CommitAnalysis, repo: str, patches: list[dict[str, Any]]) -> dict[str, Any]:
    commit = inp.commit
    listed = inp.files[:MAX_LISTED_FILES]
    return {
        "repo": repo,
        "commit": {
            "sha": commit.sha,
            "title": _data(commit.title),
            "message": _data(commit.message),
            "author": _data(commit.author_name),
            "committer_time": commit.committer_date.isoformat(),
            "is_merge": commit.is_merge,
            "pr_number": commit.pr_number,
            "files_changed": commit.files_changed,
            "additions": commit.additions,
            "deletions": commit.deletions,
        },
        "rule": {"importance": rules.rule_importance.value, "reasons": rules.rule_reasons},
        "files": [
            {**file.model_dump(include={"path", "previous_path", "status", "category", "noise", "additions",
                                        "deletions"}), "path": _data(file.path)}  # fmt: skip
            for file in listed
        ],
        "files_omitted": len(inp.files) - len(listed),
        "patches": patches,
        "coverage": {
            "analysed": inp.coverage.files_analysed,
            "total": inp.coverage.files_total,
            "clipped": sum(1 for patch in patches if patch["clipped"]),
        },
    }


def schema_tokens() -> int:
    return count_tokens(json.dumps(CommitAnswer.model_json_schema(), ensure_ascii=False))


def build_messages(prompt: Prompt, inp: AnalysisInput, rules: CommitAnalysis, repo: str,
                   budget_tokens: int, method: str = "function_calling",
                   ) -> tuple[list[tuple[str, str]], int, Coverage]:  # fmt: skip
    """System and user messages whose tokens, with the answer schema, fit ``budget_tokens``.

    The patches chunk_diffs selected are dropped or clipped from the lowest-ranked end
    until the whole request fits. Returns the messages, their token count, and the
    coverage of what was actually sent.
    """
    system = prompt.render("system")
    if method == "json_mode":
        # JSON mode carries no schema of its own: the prompt states it (and says "JSON").
        schema = json.dumps(CommitAnswer.model_json_schema(), ensure_ascii=False)
        system += "\n" + prompt.render("json_mode", schema=schema)
    fixed = count_tokens(system) + schema_tokens() + _MESSAGE_OVERHEAD_TOKENS
    # Highest-ranked first (source, then tests, ...), so trimming from the end loses the least.
    patches = [
        {"path": _data(file.path), "text": _data(file.patch), "clipped": file.clipped}
        for file in sorted(inp.files, key=rank_key)
        if file.patch
    ]
    while True:
        user = prompt.render("user", **_user_variables(inp, rules, repo, patches))
        total = fixed + count_tokens(user)
        if total <= budget_tokens:
            return [("system", system), ("human", user)], total, _sent_coverage(inp, patches)
        if not patches:
            raise AnswerProblem(f"the commit's metadata alone needs {total} tokens, over the budget of {budget_tokens}")
        excess = total - budget_tokens
        last = patches[-1]
        keep = count_tokens(last["text"]) - excess - 8
        if keep >= 200:
            last["text"], last["clipped"] = clip_to_tokens(last["text"], keep), True
        else:
            patches.pop()


def _sent_coverage(inp: AnalysisInput, patches: list[dict[str, Any]]) -> Coverage:
    """chunk_diffs' coverage, corrected for patches the prompt had to drop or clip further."""
    sent = {patch["path"]: patch["clipped"] for patch in patches}
    offered = [file for file in inp.files if file.patch]
    dropped = [SkippedFile(path=file.path, reason="budget") for file in offered if _data(file.path) not in sent]
    newly_clipped = sum(1 for file in offered if sent.get(_data(file.path)) and not file.clipped)
    return inp.coverage.model_copy(
        update={
            "files_analysed": inp.coverage.files_analysed - len(dropped),
            "files_clipped": inp.coverage.files_clipped + newly_clipped,
            "skipped": [*inp.coverage.skipped, *dropped],
        }
    )


# --- the call ------------------------------------------------------------------------
def default_chat_model(settings: LLMSettings, max_tokens: int) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.model,
        api_key=settings.api_key or "not-needed",
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=0,  # retries are ours: they honour Retry-After and give up on 401/403
        max_tokens=max_tokens,
        temperature=0,
        use_responses_api=False,  # some model names would route to /v1/responses otherwise
    )


ChatFactory = Callable[[LLMSettings, int], Any]


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def _http_status(exc: Exception) -> int | None:
    return getattr(exc, "status_code", None)


def invoke_structured(settings: LLMSettings, messages: list[tuple[str, str]], max_tokens: int, stats: CallStats,
                      chat_factory: ChatFactory = default_chat_model,
                      sleep: Callable[[float], None] = time.sleep) -> CommitAnswer:  # fmt: skip
    """One answer, with transient errors retried; AnswerProblem or FatalLLMError otherwise."""
    import openai
    from langchain_core.exceptions import OutputParserException
    from pydantic import ValidationError

    structured = chat_factory(settings, max_tokens).with_structured_output(
        CommitAnswer, method=settings.method, include_raw=True
    )
    waited = 0.0
    for attempt in range(1, settings.max_attempts + 1):
        stats.requests += 1
        try:
            result = structured.invoke(messages)
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
            raise FatalLLMError(
                f"the LLM endpoint refused connection {settings.conn_id!r} (model {settings.model!r}): "
                f"HTTP {_http_status(exc)}: {_message(exc)}"
            ) from None
        except (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
                openai.APIConnectionError) as exc:  # fmt: skip
            reason = f"HTTP {_http_status(exc)}" if _http_status(exc) else type(exc).__name__
            wait = _retry_after(exc)
            wait = wait if wait is not None else min(30.0, 2.0 ** attempt) * (0.5 + random.random() / 2)
            if attempt == settings.max_attempts or waited + wait > settings.max_retry_wait:
                raise AnswerProblem(f"{reason} after {attempt} attempt(s)") from None
            log.warning("LLM %s (attempt %d/%d); retrying in %.1fs", reason, attempt, settings.max_attempts, wait)
            sleep(wait)
            waited += wait
            continue
        except openai.LengthFinishReasonError:
            raise AnswerProblem("the answer was cut off (finish_reason=length)") from None
        except openai.BadRequestError as exc:
            raise AnswerProblem(f"HTTP 400: {_message(exc)}") from None
        except openai.APIStatusError as exc:  # any other refusal of this request (413, 422, ...)
            raise AnswerProblem(f"HTTP {_http_status(exc)}: {_message(exc)}") from None
        except (OutputParserException, ValidationError, json.JSONDecodeError) as exc:
            raise AnswerProblem(f"invalid answer: {str(exc).splitlines()[0][:200]}") from None
        return _parsed(result, stats)
    raise AssertionError("unreachable")


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    return str(exc).splitlines()[0][:300]


def _parsed(result: dict[str, Any], stats: CallStats) -> CommitAnswer:
    raw = result.get("raw")
    usage = getattr(raw, "usage_metadata", None) or {}
    stats.prompt_tokens += int(usage.get("input_tokens", 0))
    stats.completion_tokens += int(usage.get("output_tokens", 0))
    finish = (getattr(raw, "response_metadata", None) or {}).get("finish_reason")
    if finish == "length":
        raise AnswerProblem("the answer was cut off (finish_reason=length)")
    if result.get("parsing_error") is not None:
        raise AnswerProblem(f"invalid answer: {str(result['parsing_error']).splitlines()[0][:200]}")
    parsed = result.get("parsed")
    if parsed is None:
        raise AnswerProblem("empty or unparsable answer")
    return parsed if isinstance(parsed, CommitAnswer) else CommitAnswer.model_validate(parsed)


# --- the analyzer --------------------------------------------------------------------
def _grounded(analysis: CommitAnalysis, inp: AnalysisInput, language: str) -> CommitAnalysis:
    known = known_paths([f.path for f in inp.files] + [f.previous_path for f in inp.files if f.previous_path])
    unknown: list[str] = []

    def fix(text: str) -> str:
        text, found = ground_text(text, known, language)
        unknown.extend(found)
        return text

    update: dict[str, Any] = {name: [fix(item) for item in getattr(analysis, name)]
                              for name in ("summary", "scope", "risks", "recommendations")}  # fmt: skip
    if analysis.insight:
        update["insight"] = analysis.insight.model_copy(
            update={part: fix(getattr(analysis.insight, part)) for part in type(analysis.insight).model_fields}
        )
    update["ungrounded_paths"] = list(dict.fromkeys(unknown))
    return analysis.model_copy(update=update)


def analyze_with_llm(inp: AnalysisInput, *, repo: str, language: str, rules: CommitAnalysis, settings: LLMSettings,
                     prompt: Prompt, budget_tokens: int, chat_factory: ChatFactory = default_chat_model,
                     sleep: Callable[[float], None] = time.sleep) -> CommitAnalysis:  # fmt: skip
    """The LLM's analysis of one commit, or ``rules`` marked with why the LLM's was not used."""
    stats = CallStats()
    llm_fields = {"model": settings.model, "prompt_hash": prompt.content_hash}
    try:
        # Room for the repair note is kept from the start: the repair request repeats the
        # commit and must fit the same budget.
        reserve = count_tokens(prompt.render("repair", problem="x" * MAX_PROBLEM_CHARS))
        messages, prompt_tokens, coverage = build_messages(
            prompt, inp, rules, repo, budget_tokens - reserve, settings.method
        )
    except AnswerProblem as problem:
        return _fallback(rules, problem.reason, stats, llm_fields)
    max_tokens = OUTPUT_TOKENS[_ONE_UP[rules.rule_importance]]
    log.info("%s %s: request of %d prompt tokens (budget %d), up to %d output tokens",
             repo, inp.commit.sha[:7], prompt_tokens, budget_tokens, max_tokens)  # fmt: skip
    problem: str | None = None
    for attempt in ("first", "repair"):
        if attempt == "repair":
            assert problem is not None
            repair = prompt.render("repair", problem=problem[:MAX_PROBLEM_CHARS])
            messages = [messages[0], ("human", messages[1][1] + "\n" + repair)]
            max_tokens = OUTPUT_TOKENS[Importance.HIGH]
        try:
            answer = invoke_structured(settings, messages, max_tokens, stats, chat_factory, sleep)
            analysis = to_analysis(answer, rules, usage=stats.usage(), coverage=coverage, **llm_fields)
            return _grounded(analysis, inp, language)
        except (AnswerProblem, IncompleteAnswer) as exc:
            problem = exc.reason if isinstance(exc, AnswerProblem) else str(exc)
            stats.problems.append(problem)
            log.warning("%s %s: %s answer unusable: %s", repo, inp.commit.sha[:7], attempt, problem)
    return _fallback(rules, "; ".join(dict.fromkeys(stats.problems)), stats, llm_fields)


def _fallback(rules: CommitAnalysis, reason: str, stats: CallStats, llm_fields: dict[str, Any]) -> CommitAnalysis:
    return rules.model_copy(update={"fallback_reason": reason, "usage": stats.usage(), **llm_fields})
