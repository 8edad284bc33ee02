"""Real git repositories for tests, built with the git CLI.

``build_fixture_repo`` makes one deterministic history (same inputs, same shas on every
machine) that covers the cases a daily digest gets wrong: merges, renames, binary files,
non-ASCII and hostile text, day boundaries in Asia/Shanghai, author dates that differ
from committer dates, an empty day and a busy day. ``FixtureRepo`` says what a correct
reader must find in it, derived from what the builder asked git to do.

``commit`` / ``merge`` / ``checkout`` grow any repository from a test. Every git call goes
through ``run_git``, which ignores the user's and the system's git config so that the
results do not depend on the machine.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

Person = tuple[str, str]  # (name, email)
FileContent = bytes | str | None  # None deletes the file

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_BRANCH = "main"

ALICE: Person = ("Alice Liddell", "alice@example.com")
BOB: Person = ("Bob Builder", "bob@example.com")
CAROL: Person = ("Carol Danvers", "carol@example.org")
ZHANG_SAN: Person = ("张三", "zhangsan@example.cn")
DAVE: Person = ("Dave West", "dave@example.com")
GITHUB_WEB: Person = ("GitHub", "noreply@github.com")

# Emails GitHub would link to an account; the others show up with ``author: null``.
FIXTURE_LOGINS: dict[str, str] = {
    ALICE[1]: "alice",
    BOB[1]: "bob",
    GITHUB_WEB[1]: "web-flow",
}

# Passed with -c on every call: these override whatever the repository or machine says.
_CONFIG_ARGS: tuple[str, ...] = tuple(
    arg
    for setting in (
        "init.defaultBranch=main",
        "commit.gpgsign=false",
        "tag.gpgsign=false",
        "core.autocrlf=false",
        "core.quotepath=false",
        "i18n.commitEncoding=UTF-8",
        "i18n.logOutputEncoding=UTF-8",
        "user.name=Fixture Builder",
        "user.email=fixture@example.invalid",
        # The fake server may read repositories another user created.
        "safe.directory=*",
    )
    for arg in ("-c", setting)
)


class GitError(RuntimeError):
    """A git command failed; the message carries its stderr."""


def _hermetic_env() -> dict[str, str]:
    # GIT_DIR & co. leak in when tests run from a git hook; they would redirect every call.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    return env


_BASE_ENV = _hermetic_env()


def run_git(
    repo: Path | str, *args: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None
) -> bytes:
    """Run ``git -C repo args...`` hermetically and return its raw stdout."""
    command = ["git", *_CONFIG_ARGS, "-C", str(repo), *args]
    proc = subprocess.run(
        command, input=stdin, capture_output=True, env={**_BASE_ENV, **(env or {})}, check=False
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", errors="replace").strip()
        raise GitError(f"git {' '.join(args)} failed ({proc.returncode}): {stderr}")
    return proc.stdout


def git_date(moment: datetime) -> str:
    """Git's raw date form ("@<epoch> +0800"): exact, and keeps the wall-clock offset."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"commit dates must be timezone-aware: {moment!r}")
    if moment.microsecond:
        raise ValueError(f"git keeps whole seconds only: {moment!r}")
    minutes = int(moment.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"@{int(moment.timestamp())} {sign}{hours:02d}{mins:02d}"


def _identity_env(
    author: Person, author_date: datetime, committer: Person, committer_date: datetime
) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_AUTHOR_DATE": git_date(author_date),
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
        "GIT_COMMITTER_DATE": git_date(committer_date),
    }


def init_repo(path: Path, *, branch: str = DEFAULT_BRANCH) -> Path:
    """``git init`` a fresh repository at ``path`` (created if missing)."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "-q", "-b", branch)
    return path


def build_empty_repo(path: Path) -> Path:
    """A repository with no commits at all (GitHub answers 409 for its commits)."""
    return init_repo(path)


def checkout(repo_path: Path, branch: str, *, create: bool = False) -> None:
    """Switch the work tree to ``branch``; ``create`` branches off the current HEAD."""
    run_git(repo_path, "checkout", "-q", *(["-b"] if create else []), branch)


def head_sha(repo_path: Path, ref: str = "HEAD") -> str:
    return run_git(repo_path, "rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()


def commit(
    repo_path: Path,
    files: Mapping[str, FileContent],
    message: str,
    *,
    author: Person,
    author_date: datetime,
    committer: Person | None = None,
    committer_date: datetime | None = None,
    renames: Mapping[str, str] | None = None,
    allow_empty: bool = False,
) -> str:
    """Write ``files`` (str is UTF-8, None deletes), apply ``renames`` (old -> new, via
    ``git mv``, before the writes so a rename can be edited too), commit, return the sha.

    Committer and committer date default to the author's. The message is stored verbatim.
    """
    renames = renames or {}
    for old, new in renames.items():
        (repo_path / new).parent.mkdir(parents=True, exist_ok=True)
        run_git(repo_path, "mv", "--", old, new)
    for rel_path, content in files.items():
        target = repo_path / rel_path
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    touched = [*files, *renames.values()]
    if touched:
        run_git(repo_path, "add", "-A", "--", *touched)
    env = _identity_env(author, author_date, committer or author, committer_date or author_date)
    text = message if message.endswith("\n") else message + "\n"
    args = ["commit", "-q", "--no-verify", "--cleanup=verbatim", "-F", "-"]
    run_git(repo_path, *args, *(["--allow-empty"] if allow_empty else []), env=env, stdin=text.encode())
    return head_sha(repo_path)


def merge(
    repo_path: Path,
    branch: str,
    message: str,
    *,
    author: Person,
    author_date: datetime,
    committer: Person | None = None,
    committer_date: datetime | None = None,
) -> str:
    """A non-fast-forward merge of ``branch`` into the current branch; returns its sha."""
    env = _identity_env(author, author_date, committer or author, committer_date or author_date)
    run_git(repo_path, "merge", "-q", "--no-ff", "--no-commit", branch, env=env)
    # Committing with MERGE_HEAD present records both parents; the message stays verbatim.
    return commit(
        repo_path, {}, message, author=author, author_date=author_date,
        committer=committer, committer_date=committer_date,
    )


@dataclass(frozen=True)
class ExpectedCommit:
    """What a correct reader must report for one commit of the fixture."""

    sha: str
    title: str
    message: str  # without the trailing newline, as GitHub returns it
    author_name: str
    author_email: str
    author_date: datetime  # aware, in the offset the commit was made in
    committer_name: str
    committer_email: str
    committer_date: datetime
    parents: tuple[str, ...]
    # Changed paths against the first parent, as GitHub lists them (new name for renames).
    files: tuple[str, ...]
    statuses: dict[str, str] = field(default_factory=dict)  # path -> added/modified/removed/renamed
    previous_paths: dict[str, str] = field(default_factory=dict)  # new path -> old path
    binary_files: tuple[str, ...] = ()
    author_login: str | None = None
    committer_login: str | None = None
    # Lines changed against the first parent, from git's own --shortstat.
    additions: int = 0
    deletions: int = 0
    # Names of the cases this commit covers ("merge", "rename", ...); see build_fixture_repo.
    labels: frozenset[str] = frozenset()
    pr_number: int | None = None

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass
class FixtureRepo:
    path: Path
    commits: list[ExpectedCommit]
    logins: dict[str, str]
    default_branch: str = DEFAULT_BRANCH
    # Shas reachable from the default branch when the fixture was built.
    reachable: frozenset[str] = frozenset()

    def by_label(self, label: str) -> ExpectedCommit:
        """The one commit carrying ``label`` (KeyError if none, ValueError if several)."""
        found = [c for c in self.commits if label in c.labels]
        if not found:
            raise KeyError(label)
        if len(found) > 1:
            raise ValueError(f"{len(found)} commits are labelled {label!r}")
        return found[0]

    def commits_on(self, day: date, tz: str) -> list[ExpectedCommit]:
        """Commits whose committer date is in [day 00:00, day+1 00:00) in ``tz``, newest
        first (ties: author date, then sha, both descending), reachable from main."""
        zone = ZoneInfo(tz)
        start = datetime.combine(day, time(), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        on_day = [c for c in self.commits if c.sha in self.reachable and start <= c.committer_date < end]
        return sorted(on_day, key=lambda c: (c.committer_date, c.author_date, c.sha), reverse=True)

    def counts_by_day(self, days: Iterable[date], tz: str) -> dict[date, int]:
        return {day: len(self.commits_on(day, tz)) for day in days}


_PR_RE = re.compile(r"\(#(\d+)\)\s*$|^Merge pull request #(\d+)\b")


def _pr_number(title: str) -> int | None:
    match = _PR_RE.search(title)
    return int(match.group(1) or match.group(2)) if match else None


@dataclass
class _Record:
    """What the builder asked for in one commit, before git's numbers are known."""

    sha: str
    message: str
    author: Person
    author_date: datetime
    committer: Person
    committer_date: datetime
    statuses: dict[str, str]
    previous_paths: dict[str, str]
    binary_files: tuple[str, ...]
    labels: frozenset[str]
    branch: str


class _Builder:
    """Commits in chronological order and remembers what each commit changed."""

    def __init__(self, path: Path) -> None:
        self.path = init_repo(path)
        self.branch = DEFAULT_BRANCH
        self.records: list[_Record] = []

    def read(self, rel_path: str) -> str:
        return (self.path / rel_path).read_text(encoding="utf-8")

    def append(self, rel_path: str, line: str) -> str:
        """The file's content with ``line`` added at the end (for small, clean diffs)."""
        return self.read(rel_path) + line + "\n"

    def _status(self, rel_path: str, content: FileContent) -> str:
        # The work tree always equals HEAD here, so existence there is existence in the parent.
        if content is None:
            return "removed"
        return "modified" if (self.path / rel_path).exists() else "added"

    def commit(
        self,
        when: datetime,
        message: str,
        files: Mapping[str, FileContent],
        *,
        who: Person = ALICE,
        committer: Person | None = None,
        author_date: datetime | None = None,
        renames: Mapping[str, str] | None = None,
        labels: Iterable[str] = (),
    ) -> str:
        renames = dict(renames or {})
        statuses = {path: self._status(path, content) for path, content in files.items()}
        statuses.update({new: "renamed" for new in renames.values()})
        binary = tuple(p for p, c in files.items() if isinstance(c, bytes) and b"\0" in c)
        sha = commit(
            self.path, files, message, author=who, author_date=author_date or when,
            committer=committer, committer_date=when, renames=renames,
        )
        self._record(sha, message, who, author_date or when, committer or who, when,
                     statuses, {new: old for old, new in renames.items()}, binary, labels)
        return sha

    def merge(self, when: datetime, branch: str, message: str, *, who: Person, committer: Person,
              labels: Iterable[str] = ()) -> str:
        # Against the first parent a merge shows what the branch changed since it forked.
        branch_paths = {p for r in self.records if r.branch == branch for p in r.statuses}
        statuses = {p: "modified" if (self.path / p).exists() else "added" for p in branch_paths}
        sha = merge(self.path, branch, message, author=who, author_date=when,
                    committer=committer, committer_date=when)
        self._record(sha, message, who, when, committer, when, statuses, {}, (), labels)
        return sha

    def checkout(self, branch: str, *, create: bool = False) -> None:
        checkout(self.path, branch, create=create)
        self.branch = branch

    def _record(self, sha: str, message: str, author: Person, author_date: datetime, committer: Person,
                committer_date: datetime, statuses: dict[str, str], previous: dict[str, str],
                binary: tuple[str, ...], labels: Iterable[str]) -> None:
        self.records.append(_Record(sha, message.rstrip("\n"), author, author_date, committer,
                                    committer_date, statuses, previous, binary, frozenset(labels),
                                    self.branch))

    def finish(self, logins: dict[str, str]) -> FixtureRepo:
        numbers = _line_counts(self.path)
        parents = _parents(self.path)
        commits = [
            ExpectedCommit(
                sha=r.sha,
                title=r.message.split("\n", 1)[0],
                message=r.message,
                author_name=r.author[0],
                author_email=r.author[1],
                author_date=r.author_date,
                committer_name=r.committer[0],
                committer_email=r.committer[1],
                committer_date=r.committer_date,
                parents=parents[r.sha],
                files=tuple(sorted(r.statuses)),
                statuses=r.statuses,
                previous_paths=r.previous_paths,
                binary_files=r.binary_files,
                author_login=logins.get(r.author[1]),
                committer_login=logins.get(r.committer[1]),
                additions=numbers[r.sha][0],
                deletions=numbers[r.sha][1],
                labels=r.labels,
                pr_number=_pr_number(r.message.split("\n", 1)[0]),
            )
            for r in self.records
        ]
        return FixtureRepo(self.path, commits, dict(logins), DEFAULT_BRANCH, frozenset(parents))


def _parents(repo_path: Path) -> dict[str, tuple[str, ...]]:
    out = run_git(repo_path, "rev-list", "--parents", DEFAULT_BRANCH).decode()
    return {sha: tuple(rest) for sha, *rest in (line.split() for line in out.splitlines())}


_SHORTSTAT_RE = re.compile(r"(\d+) insertions?\(\+\)|(\d+) deletions?\(-\)")


def _line_counts(repo_path: Path) -> dict[str, tuple[int, int]]:
    """(additions, deletions) per commit against its first parent, as git counts them."""
    out = run_git(
        repo_path, "log", "--format=%x00%H", "--shortstat", "-M", "--diff-merges=first-parent",
        DEFAULT_BRANCH,
    ).decode()
    counts: dict[str, tuple[int, int]] = {}
    for chunk in filter(None, out.split("\0")):
        sha, _, stat = chunk.partition("\n")
        added = sum(int(m.group(1)) for m in _SHORTSTAT_RE.finditer(stat) if m.group(1))
        deleted = sum(int(m.group(2)) for m in _SHORTSTAT_RE.finditer(stat) if m.group(2))
        counts[sha.strip()] = (added, deleted)
    return counts


def _at(
    day: int, hour: int, minute: int = 0, second: int = 0, tz: timezone | ZoneInfo = SHANGHAI
) -> datetime:
    return datetime(2026, 2, day, hour, minute, second, tzinfo=tz)


# Bytes git must treat as binary: a PNG signature and NULs.
LOGO_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
HOSTILE_TITLE = "fix: escape `|` in tables | <script>alert(1)</script> [x](javascript:alert(1))"
MERGE_MESSAGE = "Merge pull request #12 from alice/feature\n\nAdd feature"
CHINESE_TITLE = "修复：中文标题的提交"
BUSY_DAY_MAIN_COMMITS = 46  # plus the two feature-branch commits made the same day

# The busy day's conventional-commit mix: (title template, file it appends to).
_BUSY_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("feat: add option {n}", "src/options.py"),
    ("fix(parser): handle edge case {n}", "src/parser.py"),
    ("docs: describe option {n}", "docs/guide.md"),
    ("refactor!: simplify pipeline step {n}", "src/pipeline.py"),
    ("chore: tidy settings {n}", "config/settings.toml"),
    ("test: cover parser case {n}", "tests/test_parser.py"),
    ("[Doc] Clarify FAQ entry {n}", "docs/faq.md"),
)


def _initial_files() -> dict[str, FileContent]:
    util = "".join(f"def helper_{k}(value):\n    return value + {k}\n\n\n" for k in range(8))
    return {
        "README.md": "# Demo project\n\nA repository built by tests.\n",
        "src/util.py": util,
        "src/options.py": "# Options\n",
        "src/parser.py": "# Parser\n",
        "src/pipeline.py": "# Pipeline\n",
        "src/render.py": "def render(text):\n    return text\n",
        "src/api.py": "TIMEOUT = 10\n",
        "config/settings.toml": "[settings]\n",
        "tests/test_parser.py": "# Parser tests\n",
        "docs/guide.md": "# Guide\n",
        "docs/faq.md": "# FAQ\n",
        "docs/index.md": "# Docs\n",
        "scripts/old.sh": "#!/bin/sh\necho obsolete\n",
        "uv.lock": "version = 1\n",
        "CHANGELOG.md": "# Changelog\n",
    }


def _build_17th(b: _Builder) -> None:
    b.commit(_at(17, 9), "Initial commit", _initial_files(), labels={"initial"})
    b.commit(
        _at(17, 10, 30), "chore: add project skeleton\n\nCI workflow and packaging metadata.",
        {".github/workflows/ci.yml": "on: [push]\n", "pyproject.toml": "[project]\nname = 'demo'\n"},
        who=BOB,
    )


def _busy_commit(b: _Builder, i: int, when: datetime) -> None:
    """The i-th commit of the busy day; a few slots carry special cases."""
    who = (ALICE, BOB, CAROL)[i % 3]
    if i == 10:
        lock = "".join(f'[[package]]\nname = "dep{k}"\nversion = "1.{k}.0"\n\n' for k in range(40))
        b.commit(when, "chore(deps): update uv.lock", {"uv.lock": "version = 1\n\n" + lock},
                 who=who, labels={"lock"})
    elif i == 20:
        table = "".join(f"    {k}: {k * k},  # square of {k}\n" for k in range(300))
        files = {
            "src/lookup_table.py": "SQUARES = {\n" + table + "}\n",
            "tests/test_lookup_table.py": "from src.lookup_table import SQUARES\n\n\n"
            "def test_squares():\n    assert SQUARES[12] == 144\n",
        }
        b.commit(when, "feat: add generated lookup table\n\nThree hundred entries.", files,
                 who=who, labels={"big"})
    elif i == 30:
        files = {f"packages/pkg{k}/VERSION": f"0.{k}.1\n" for k in range(7)}
        b.commit(when, "chore: bump version in all packages", files, who=who, labels={"many_files"})
    else:
        template, rel_path = _BUSY_TEMPLATES[i % len(_BUSY_TEMPLATES)]
        title = template.format(n=i)
        body = f"\n\nDetails for change {i}." if i % 4 == 0 else ""
        b.commit(when, title + body, {rel_path: b.append(rel_path, f"# change {i}")}, who=who)


def _build_18th(b: _Builder) -> None:
    """The busy day: 46 commits on main every 15 minutes from 09:00, and a feature branch."""
    fork_after = 20  # main's commit at 14:00 is the feature branch's base
    for i in range(BUSY_DAY_MAIN_COMMITS):
        _busy_commit(b, i, _at(18, 9) + timedelta(minutes=15 * i))
        if i == fork_after:
            b.checkout("alice/feature", create=True)
            b.commit(_at(18, 14, 5), "feat(feature): add feature module",
                     {"src/feature.py": "def feature():\n    return 'on'\n"}, labels={"feature"})
            b.commit(_at(18, 14, 20), "test(feature): cover feature module",
                     {"tests/test_feature.py": "def test_feature():\n    assert True\n"},
                     labels={"feature"})
            b.checkout(DEFAULT_BRANCH)


def _build_19th(b: _Builder) -> None:
    b.commit(_at(19, 8, 30), f"{CHINESE_TITLE}\n\n详细说明：修复了问候语。",
             {"src/i18n.py": "GREETING = '你好，世界'\n"}, who=ZHANG_SAN, labels={"non_ascii"})
    b.merge(_at(19, 10), "alice/feature", MERGE_MESSAGE, who=ALICE, committer=GITHUB_WEB,
            labels={"merge"})
    renamed = b.read("src/util.py").replace("return value + 3", "return value + 33")
    b.commit(_at(19, 11), "refactor: rename util.py to helpers.py", {"src/helpers.py": renamed},
             who=BOB, renames={"src/util.py": "src/helpers.py"}, labels={"rename"})
    b.commit(_at(19, 13), "feat: add logo image", {"docs/logo.png": LOGO_PNG}, who=CAROL,
             labels={"binary"})
    b.commit(
        _at(19, 15),
        HOSTILE_TITLE + "\n\nBody with | pipes, `ticks`, <b>html</b> and [click](javascript:alert(2)).",
        {"src/render.py": b.append("src/render.py", "# escape | and `")}, labels={"hostile"},
    )
    # Written on the 17th, rebased by Alice on the 19th: the day is the committer's.
    b.commit(_at(19, 16), "fix(api): retry on timeout", {"src/api.py": b.append("src/api.py", "RETRIES = 3")},
             who=BOB, committer=ALICE, author_date=_at(17, 18), labels={"author_date_differs"})
    b.commit(_at(19, 23, 59, 59), "chore: last commit of the 19th",
             {"CHANGELOG.md": b.append("CHANGELOG.md", "- 19th")}, who=CAROL, labels={"day_end"})


def _build_20th(b: _Builder) -> None:
    b.commit(_at(20, 0), "docs: first commit of the 20th",
             {"docs/index.md": b.append("docs/index.md", "Updated on the 20th.")}, labels={"day_start"})
    # Made in UTC-8 (still the 19th there): only the instant matters, not the writer's offset.
    b.commit(_at(19, 9, 30, tz=timezone(timedelta(hours=-8))), "test: add timezone regression test",
             {"tests/test_tz.py": "def test_tz():\n    assert True\n"}, who=DAVE, labels={"west_coast"})
    b.commit(_at(20, 10), "fix: handle empty input (#345)\n\n* fix: handle empty input\n* test: add case",
             {"src/parser.py": b.append("src/parser.py", "# empty input")}, labels={"squash"})
    b.commit(_at(20, 11), "chore: remove obsolete script", {"scripts/old.sh": None}, who=BOB,
             labels={"removed"})
    # Latin-1 bytes without NULs: git diffs them as text, the patch is not valid UTF-8.
    b.commit(_at(20, 12), "docs: add legacy latin-1 notes", {"docs/legacy.txt": b"caf\xe9 cr\xe8me\n"},
             who=CAROL, labels={"latin1"})
    b.commit(_at(20, 14), "ci: run tests on push",
             {".github/workflows/ci.yml": b.append(".github/workflows/ci.yml", "jobs: {}")}, who=BOB)


def _build_22nd(b: _Builder) -> None:
    # 07:30 in Shanghai is 23:30 UTC on the 21st: the 21st is empty only in Shanghai time.
    b.commit(_at(22, 7, 30), "feat: add weekly summary", {"src/weekly.py": "def weekly():\n    return []\n"},
             labels={"utc_previous_day"})
    b.commit(_at(22, 10), "[Doc] Describe weekly summary", {"docs/weekly.md": "# Weekly summary\n"},
             who=CAROL)
    b.commit(_at(22, 11), "test: cover weekly summary",
             {"tests/test_weekly.py": "def test_weekly():\n    assert True\n"}, who=BOB)
    b.commit(_at(22, 12), "chore(deps): bump lock files",
             {"uv.lock": b.append("uv.lock", "# bumped"), "package-lock.json": '{"lockfileVersion": 3}\n'},
             who=BOB, labels={"lock_22nd"})


def build_fixture_repo(path: Path) -> FixtureRepo:
    """Build the shared fixture history at ``path`` (an empty or missing directory).

    Days are Asia/Shanghai: 17th 2 commits; 18th 48 (busy, incl. 2 on a feature branch);
    19th 7 (non-ASCII, merge #12, rename, binary, hostile title, author date on the 17th,
    23:59:59); 20th 6 (00:00:00, one made in UTC-8, squash "(#345)", a deletion, Latin-1
    text, CI); 21st none; 22nd 4 (the first at 07:30, i.e. the 21st in UTC).
    """
    builder = _Builder(path)
    _build_17th(builder)
    _build_18th(builder)
    _build_19th(builder)
    _build_20th(builder)
    _build_22nd(builder)
    return builder.finish(FIXTURE_LOGINS)


if __name__ == "__main__":
    # `python -m tests.fakes.git_fixture PATH`: the fixture as a demo repository (quickstart).
    import shutil
    import sys

    target = Path(sys.argv[1])
    shutil.rmtree(target, ignore_errors=True)
    fixture = build_fixture_repo(target)
    print(f"built {target}: {len(fixture.commits)} commits, {fixture.default_branch} branch")
