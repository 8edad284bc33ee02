"""A store of real digests and an HTML element lister, shared by the viewer tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from repo_digest.combined import CombinedRepo, CombinedReport, publish_combined
from repo_digest.digest import Digest
from repo_digest.render import render_markdown
from repo_digest.store import DigestStore
from tests.plugins.repo_digest.digest_samples import DAY, empty_digest, sample_digest

SGLANG = "sgl-project/sglang"
VLLM = "vllm-project/vllm"
PREFIX = "/repo-digest"


@dataclass(frozen=True)
class Stored:
    url: str
    path: Path
    markdown: dict[tuple[str, dt.date], str]


def _write(store: DigestStore, digest: Digest) -> str:
    markdown = render_markdown(digest)
    store.write_text(store.digest_path(digest.repo, digest.day, ".json"), digest.model_dump_json(indent=2) + "\n")
    store.write_text(store.digest_path(digest.repo, digest.day, ".md"), markdown)
    return markdown


def fill_store(path: Path) -> Stored:
    """Two repos over two years, a combined report, and internal files that must stay hidden."""
    url = f"file://{path}"
    store = DigestStore(url)
    earlier = DAY - dt.timedelta(days=1)
    markdown = {
        (SGLANG, DAY): _write(store, sample_digest("en", SGLANG)),
        (SGLANG, earlier): _write(store, empty_digest("zh", SGLANG).model_copy(update={"day": earlier})),
        (VLLM, DAY): _write(store, sample_digest("zh", VLLM)),
        (VLLM, dt.date(2025, 12, 31)): _write(
            store, empty_digest("en", VLLM).model_copy(update={"day": dt.date(2025, 12, 31)})
        ),
    }
    # A real combined report, with a repo still pending.
    report = CombinedReport(
        day=DAY,
        language="en",
        repos=[
            CombinedRepo(repo=SGLANG, digest=sample_digest("en", SGLANG)),
            CombinedRepo(repo=VLLM, digest=sample_digest("zh", VLLM)),
            CombinedRepo(repo="acme/pending"),
        ],
    )
    paths = publish_combined(report, store)
    markdown[("_all", DAY)] = Path(paths["markdown"].removeprefix("file://")).read_text(encoding="utf-8")
    # A digest whose JSON is missing (written by hand, say): the page has no JSON link.
    (path / VLLM / "2025" / "2025-12-31.json").unlink()
    # Internal folders, even with digest-shaped files, and stray files: never listed, never served.
    store.write_text(store.root / "_cache" / "evil" / "repo" / "2026" / "2026-02-19.md", "# cache")
    store.write_text(store.commit_detail_path(SGLANG, "abc"), "{}")
    store.write_text(store.work_path(SGLANG, DAY, "abc.json"), "{}")
    store.write_text(store.root / "_work" / "2026" / "2026-02-19.md", "# work")
    (path / SGLANG / "2026" / ".2026-02-17.md.0123.tmp").write_text("half")
    (path / SGLANG / "2026" / "notes.txt").write_text("x")
    (path / SGLANG / "1999").mkdir()
    (path / "README.md").write_text("not a repo")
    return Stored(url=url, path=path, markdown=markdown)



class Elements(HTMLParser):
    """Every start tag with its attributes, and the ids in the document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.tags if attrs.get("id")}
