"""Digest objects for renderer tests, built directly (no sources, no analyzers).

``sample_digest`` covers every tier, a merge, PR links, an LLM fallback, an importance
disagreement, partial coverage with skipped files, and hostile text; ``empty_digest`` is a
day without commits. Text comes in both languages so each golden file reads naturally.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from repo_digest.analysis.record import (
    ChangeType,
    CommitAnalysis,
    Coverage,
    Importance,
    SkippedFile,
    TechnicalInsight,
)
from repo_digest.digest import Digest, DigestCommit, compute_stats, pr_url_of

Language = Literal["zh", "en"]

DAY = dt.date(2026, 2, 19)

HOSTILE_TITLE = (
    "fix | `code` <script>alert(1)</script> [x](javascript:alert(1))\n"
    "\tsecond line ~~strike~~ *em* _u_ &amp; $x$ \\ end!"
)
HOSTILE_AUTHOR = "<img src=x onerror=alert(1)> | Evil\nName"
HOSTILE_ITEMS = [
    "- looks like a list item",
    "1. looks like an ordered list",
    "> looks like a quote",
    "# looks like a heading",
    "</a><script>alert(3)</script>",
    "[click](javascript:alert(4)) ![img](javascript:alert(5))",
    "line one\nline two\ttabbed",
    "| a | b |",
    "***",
    "`unclosed code span",
    "ends with a bang!",
]
LONG_TITLE = "Long title " + "x" * (10_000 - len("Long title "))
HEADING_TITLE = "# Release 1.0 #"


def sha_of(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def _pick(language: Language, zh: Any, en: Any) -> Any:
    return zh if language == "zh" else en


def analysis(sha: str, importance: Importance, **fields: Any) -> CommitAnalysis:
    """A CommitAnalysis with filler for whatever the tier needs and the caller left out."""
    values: dict[str, Any] = {
        "sha": sha,
        "analyzer": "llm",
        "analyzer_version": "test-1",
        "importance": importance,
        "change_types": [ChangeType.OTHER],
        "summary": ["summary"],
        "rule_importance": importance,
    }
    if importance in (Importance.HIGH, Importance.MEDIUM):
        values |= {"scope": ["scope"], "recommendations": ["recommendation"]}
    if importance is Importance.HIGH:
        values |= {
            "insight": TechnicalInsight(architecture="a", performance="p", security="s", maintainability="m"),
            "risks": ["risk"],
        }
    values |= fields
    return CommitAnalysis(**values)


def commit(
    repo: str,
    time: str,
    title: str,
    author: str,
    an: CommitAnalysis,
    *,
    pr_number: int | None = None,
    url: str | None | Literal["default"] = "default",
    **extra: Any,
) -> DigestCommit:
    """A DigestCommit for ``an``; the URL defaults to the GitHub commit page."""
    commit_url = f"https://github.com/{repo}/commit/{an.sha}" if url == "default" else url
    values: dict[str, Any] = {
        "sha": an.sha,
        "short_sha": an.sha[:7],
        "author_name": author,
        "author_time": time,
        "committer_time": time,
        "title": title,
        "message": title,
        "url": commit_url,
        "pr_number": pr_number,
        "pr_url": pr_url_of(commit_url, pr_number),
        "analysis": an,
    }
    values |= extra
    return DigestCommit(**values)


def sample_commits(repo: str, language: Language) -> list[DigestCommit]:
    """Newest first, as a Digest holds them."""
    p = _pick
    s = [sha_of(f"{repo}-{n}") for n in range(8)]
    return [
        commit(
            repo, "2026-02-19 23:27:23",
            "[diffusion] refactor: split triton kernels into modules (#19010)", "Xiaoyu Zhang",
            analysis(
                s[0], Importance.HIGH,
                change_types=[ChangeType.REFACTOR, ChangeType.PERFORMANCE],
                summary=p(language,
                          ["将 `norm.py` 拆分为 `rotary.py`、`scale_shift.py` 与 `rmsnorm_onepass.py`。",
                           "新增单次遍历的 RMSNorm 实现。"],
                          ["Splits `norm.py` into `rotary.py`, `scale_shift.py` and `rmsnorm_onepass.py`.",
                           "Adds a one-pass RMSNorm kernel."]),
                scope=p(language, ["扩散模型的 Triton 算子", "NPU 回退路径"],
                        ["Triton kernels of the diffusion models", "the NPU fallback path"]),
                insight=TechnicalInsight(
                    architecture=p(language, "每个文件只负责一种算子，便于审查。", "One kernel per file, easier to review."),
                    performance=p(language, "RMSNorm 少读一次显存。",
                                  "RMSNorm reads global memory once instead of twice."),
                    security=p(language, "无外部输入，无安全影响。", "No external input; no security impact."),
                    maintainability=p(language, "导入路径变化，旧路径需要兼容层。",
                                      "Import paths moved; old paths need a shim."),
                ),
                risks=p(language, ["遗漏的旧导入路径会导致 ImportError。"],
                        ["A missed old import path raises ImportError."]),
                recommendations=p(language,
                                  ["在 GPU 与 NPU 上跑数值回归。", "为新模块加单元测试。"],
                                  ["Run numeric regressions on GPU and NPU.",
                                   "Add unit tests for the new modules."]),
                coverage=Coverage(
                    files_total=12, files_analysed=6, files_clipped=1,
                    skipped=[SkippedFile(path="uv.lock", reason="lock")]
                    + [SkippedFile(path=f"gen/kernel_{n}_pb2.py", reason="generated") for n in range(5)],
                ),
                model="gpt-oss-120b",
            ),
            pr_number=19010, additions=420, deletions=310, files_changed=12,
        ),
        commit(
            repo, "2026-02-19 21:59:49",
            "[diffusion] fix: lower memory use on consumer GPUs (#18997)", "Mick",
            analysis(
                s[1], Importance.MEDIUM, analyzer="rules",
                change_types=[ChangeType.FIX],
                summary=p(language, ["修改了 2 个文件（+35/−12）。"], ["Changes 2 files (+35/−12)."]),
                scope=["python/sglang/multimodal_gen"],
                recommendations=p(language, ["在显存小于 30 GB 的显卡上验证。"], ["Check on GPUs with < 30 GB."]),
                rule_reasons=["fix: prefix", "touches runtime code"],
                fallback_reason="the LLM answer was cut off (finish_reason=length)",
            ),
            pr_number=18997, additions=35, deletions=12, files_changed=2,
        ),
        commit(
            repo, "2026-02-19 20:33:51",
            "修复：分布式 KV 缓存在 NPU 上的内存泄漏 🚀 (#18975)", "张三",
            analysis(
                s[2], Importance.HIGH,
                change_types=[ChangeType.SECURITY, ChangeType.FIX],
                rule_importance=Importance.MEDIUM,
                summary=p(language, ["释放 NPU 上未归还的 KV 缓存页。"],
                          ["Frees KV cache pages never returned on NPU."]),
                scope=p(language, ["KV 缓存管理"], ["KV cache management"]),
                insight=TechnicalInsight(
                    architecture=p(language, "缓存页的归还集中到一个出口。", "Page release now has a single exit."),
                    performance=p(language, "长时间运行时显存不再增长。", "Memory no longer grows in long runs."),
                    security=p(language, "避免跨请求读到残留数据。", "Stops stale data leaking across requests."),
                    maintainability=p(language, "新增回归测试。", "Adds a regression test."),
                ),
                risks=p(language, ["归还时机变化可能影响吞吐。"], ["Earlier release may cost throughput."]),
                recommendations=p(language, ["在 NPU 上做 24 小时压测。"], ["Soak-test for 24 hours on NPU."]),
            ),
            pr_number=18975, additions=58, deletions=9, files_changed=3,
        ),
        commit(
            repo, "2026-02-19 17:03:44",
            "Merge branch 'main' into feature/radix-tree", "Mick",
            analysis(
                s[3], Importance.LOW, analyzer="rules",
                change_types=[ChangeType.MERGE],
                summary=p(language, ["合并 main 分支。"], ["Merges main."]),
            ),
            is_merge=True, additions=0, deletions=0, files_changed=0,
        ),
        commit(
            repo, "2026-02-19 16:56:06", HOSTILE_TITLE, HOSTILE_AUTHOR,
            analysis(
                s[4], Importance.MEDIUM,
                change_types=[ChangeType.FEATURE],
                summary=HOSTILE_ITEMS,
                scope=["<b>bold</b> & `code`"],
                recommendations=["[x](javascript:alert(6))"],
                coverage=Coverage(
                    files_total=2, files_analysed=1,
                    skipped=[SkippedFile(path="a`b|c<d>.txt", reason="weird<reason>")],
                ),
            ),
            pr_number=66, url="javascript:alert(1)", pr_url="javascript:alert(2)",
            additions=1, deletions=1, files_changed=2,
        ),
        commit(
            repo, "2026-02-19 12:24:05", LONG_TITLE, "hlu1",
            analysis(s[5], Importance.LOW, analyzer="rules", change_types=[ChangeType.DOCS],
                     summary=p(language, ["文档改动。"], ["Documentation change."])),
            url=None, additions=3, deletions=1, files_changed=1,
        ),
        commit(
            repo, "2026-02-19 08:31:02", HEADING_TITLE, "release-bot",
            analysis(
                s[6], Importance.LOW, analyzer="rules",
                change_types=[ChangeType.BUILD, ChangeType.CHORE],
                summary=p(language, ["版本号改为 1.0。"], ["Bumps the version to 1.0."]),
                coverage=Coverage(files_total=1, files_analysed=1),
            ),
            additions=1, deletions=1, files_changed=1,
        ),
        commit(
            repo, "2026-02-19 00:44:30",
            "[Fix] Add lora tied lm head support (for Qwen2.5, Gemma, etc.) (#18634)", "Ethan (Yusheng) Su",
            analysis(
                s[7], Importance.MEDIUM,
                change_types=[ChangeType.FEATURE, ChangeType.FIX],
                summary=p(language, ["为共享词嵌入的模型加载 LoRA lm_head。"],
                          ["Loads a LoRA lm_head for models with tied embeddings."]),
                scope=["python/sglang/srt/lora"],
                recommendations=p(language, ["覆盖 Qwen2.5 与 Gemma 的测试。"],
                                  ["Cover Qwen2.5 and Gemma in tests."]),
            ),
            pr_number=18634, additions=88, deletions=14, files_changed=4,
        ),
    ]


def sample_digest(language: Language = "zh", repo: str = "sgl-project/sglang") -> Digest:
    commits = sample_commits(repo, language)
    return Digest(
        repo=repo,
        day=DAY,
        timezone="Asia/Shanghai",
        language=language,
        source="github",
        branch="main",
        analysis_note="LLM gpt-oss-120b via connection llm_default; merges and trivial commits are scored "
        "by rules",
        commits=commits,
        stats=compute_stats(commits),
    )


def empty_digest(language: Language = "zh", repo: str = "sgl-project/sglang") -> Digest:
    return Digest(
        repo=repo,
        day=DAY,
        timezone="UTC",
        language=language,
        source="git",
        analysis_note="rules: no LLM connection configured",
        stats=compute_stats([]),
    )
