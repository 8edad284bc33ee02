"""Synthetic git repositories for the benchmarks, written with ``git fast-import``.

``busy_repo`` makes a repository whose given day has N commits (2,000 in a few seconds):
small, realistic changes to Python sources, tests and docs, conventional-commit titles,
committer times spread evenly over the day (UTC). ``token_repo`` makes one day of the
commits that strain the token budget (a 2 MB commit, lock files, generated and minified
code, a binary) and says, per commit, which changed lines are meaningful and which are
noise: every line carries a unique marker ``M1234567Q``, so a benchmark can find which
lines reached the model by searching the requests' text.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.git_fixture import init_repo, run_git

AUTHORS = [
    ("Ada Lovelace", "ada@example.com"),
    ("Linus Pauling", "linus@example.org"),
    ("Grace Hopper", "grace@example.com"),
    ("Wang Wei", "wangwei@example.cn"),
]


class FastImport:
    """Builds one linear history on ``main`` in memory, then feeds it to ``git fast-import``."""

    def __init__(self, path: Path) -> None:
        self.path = init_repo(path)
        self.chunks: list[bytes] = []
        self.marks = 0
        self.files: dict[str, list[str]] = {}
        self.binary: dict[str, bytes] = {}
        self.seq = 0

    def marker(self) -> str:
        self.seq += 1
        return f"M{self.seq:07d}Q"

    def commit(
        self,
        when: dt.datetime,
        message: str,
        changes: dict[str, bytes | None],
        author: tuple[str, str] = AUTHORS[0],
    ) -> int:
        self.marks += 1
        stamp = f"{int(when.timestamp())} +0000"
        body = message.encode("utf-8")
        out = [
            f"commit refs/heads/main\nmark :{self.marks}\n".encode(),
            f"author {author[0]} <{author[1]}> {stamp}\n".encode(),
            f"committer {author[0]} <{author[1]}> {stamp}\n".encode(),
            f"data {len(body)}\n".encode(),
            body,
            b"\n",
        ]
        for path, content in changes.items():
            if content is None:
                out.append(f"D {path}\n".encode())
            else:
                out += [f"M 100644 inline {path}\ndata {len(content)}\n".encode(), content, b"\n"]
        self.chunks.append(b"".join(out) + b"\n")
        return self.marks

    def write_text_files(
        self, when: dt.datetime, message: str, paths: list[str], author: tuple[str, str] = AUTHORS[0]
    ) -> int:
        """Commit the current text of ``paths`` (from ``self.files``)."""
        changes = {path: ("\n".join(self.files[path]) + "\n").encode() for path in paths}
        return self.commit(when, message, changes, author)

    def finish(self) -> dict[int, str]:
        """Run fast-import; returns the sha of each mark."""
        marks_file = self.path / ".git" / "bench-marks"
        run_git(
            self.path, "fast-import", "--quiet", f"--export-marks={marks_file}", stdin=b"".join(self.chunks)
        )
        shas = {}
        for line in marks_file.read_text().splitlines():
            mark, sha = line.split()
            shas[int(mark[1:])] = sha
        run_git(self.path, "symbolic-ref", "HEAD", "refs/heads/main")
        return shas


# --- busy days ------------------------------------------------------------------------------
_KINDS = [
    ("feat", 30),
    ("fix", 30),
    ("refactor", 12),
    ("test", 10),
    ("docs", 6),
    ("perf", 4),
    ("chore", 5),
    ("ci", 3),
]
_SCOPES = ["core", "api", "parser", "scheduler", "cli", "storage", "auth", "metrics"]
_VERBS = {
    "feat": "add",
    "fix": "handle",
    "refactor": "split",
    "test": "cover",
    "docs": "explain",
    "perf": "speed up",
    "chore": "tidy",
    "ci": "cache",
}
_NOUNS = [
    "empty batches",
    "retry budget",
    "token refresh",
    "partial pages",
    "time zones",
    "large payloads",
    "stale locks",
    "unicode paths",
    "config reload",
    "slow queries",
]


def _code_line(fi: FastImport, rng: random.Random) -> str:
    name = rng.choice(["total", "offset", "window", "result", "buffer", "limit", "count"])
    return f"    {name}_{fi.marker()} = compute({name}, {rng.randint(1, 999)})  # step {rng.randint(1, 99)}"


def _initial_tree(fi: FastImport, rng: random.Random) -> list[str]:
    paths = []
    for package in range(6):
        for module in range(10):
            path = f"src/pkg{package}/mod{module}.py"
            fi.files[path] = [f"def function_{module}(value):"] + [_code_line(fi, rng) for _ in range(80)]
            paths.append(path)
    for module in range(20):
        path = f"tests/test_mod{module}.py"
        fi.files[path] = [f"def test_{module}():"] + [_code_line(fi, rng) for _ in range(40)]
        paths.append(path)
    for doc in range(5):
        path = f"docs/guide{doc}.md"
        fi.files[path] = [f"# Guide {doc}"] + [
            f"Paragraph {fi.marker()} about {rng.choice(_NOUNS)}." for _ in range(30)
        ]
        paths.append(path)
    fi.files[".github/workflows/ci.yml"] = ["name: ci", "on: [push]"] + [
        f"# {fi.marker()}" for _ in range(10)
    ]
    paths.append(".github/workflows/ci.yml")
    return paths


def _edit(fi: FastImport, rng: random.Random, path: str) -> None:
    lines = fi.files[path]
    start = rng.randint(1, max(1, len(lines) - 1))
    removed = rng.randint(0, 5)
    del lines[start : start + removed]
    if path.endswith(".md"):
        new = [f"Paragraph {fi.marker()} about {rng.choice(_NOUNS)}." for _ in range(rng.randint(2, 10))]
    else:
        new = [_code_line(fi, rng) for _ in range(rng.randint(3, 24))]
    lines[start:start] = new


def busy_repo(path: Path, days: dict[dt.date, int], seed: int = 7) -> dict[dt.date, list[str]]:
    """A repository with ``days[d]`` commits on each day d (UTC); returns each day's shas, oldest first.

    The history starts with one commit on the day before the first day.
    """
    rng = random.Random(seed)
    fi = FastImport(path)
    first = min(days)
    base = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
    fi.write_text_files(base, "chore: initial import\n", _initial_tree(fi, rng))
    sources = [p for p in fi.files if p.startswith("src/")]
    tests = [p for p in fi.files if p.startswith("tests/")]
    docs = [p for p in fi.files if p.startswith("docs/")]
    day_marks: dict[dt.date, list[int]] = {}
    for day in sorted(days):
        count = days[day]
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        marks = []
        for i in range(count):
            when = start + dt.timedelta(seconds=int((i + 0.5) * 86400 / count))
            kind = rng.choices([k for k, _ in _KINDS], weights=[w for _, w in _KINDS])[0]
            if kind == "docs":
                touched = rng.sample(docs, 1)
            elif kind == "test":
                touched = rng.sample(tests, rng.randint(1, 2))
            elif kind == "ci":
                touched = [".github/workflows/ci.yml"]
            else:
                touched = rng.sample(sources, rng.randint(1, 3)) + rng.sample(tests, rng.randint(0, 1))
            for touched_path in touched:
                _edit(fi, rng, touched_path)
            scope, noun = rng.choice(_SCOPES), rng.choice(_NOUNS)
            title = f"{kind}({scope}): {_VERBS[kind]} {noun} (#{1000 + fi.marks})"
            body = f"{title}\n\nWhy: {noun} misbehaved under load.\nWhat: touched {len(touched)} file(s).\n"
            marks.append(fi.write_text_files(when, body, touched, rng.choice(AUTHORS)))
        day_marks[day] = marks
    shas = fi.finish()
    return {day: [shas[m] for m in marks] for day, marks in day_marks.items()}


# --- the token day --------------------------------------------------------------------------
@dataclass
class TokenCommit:
    """A commit of the token day: its changed lines' markers, meaningful and noise, by file."""

    title: str
    sha: str = ""
    meaningful: dict[str, set[str]] = field(default_factory=dict)
    meaningful_text: dict[str, str] = field(default_factory=dict)  # the added lines, as the patch shows them
    noise: dict[str, set[str]] = field(default_factory=dict)
    binary: list[str] = field(default_factory=list)
    size_bytes: int = 0

    @property
    def meaningful_lines(self) -> int:
        return sum(len(m) for m in self.meaningful.values())

    @property
    def noise_lines(self) -> int:
        return sum(len(m) for m in self.noise.values())


def _lines(fi: FastImport, count: int, template: str) -> tuple[list[str], set[str]]:
    lines, markers = [], set()
    for i in range(count):
        marker = fi.marker()
        markers.add(marker)
        lines.append(template.format(m=marker, i=i))
    return lines, markers


def token_repo(path: Path, day: dt.date, seed: int = 11) -> list[TokenCommit]:
    """One day (UTC) of budget-straining commits; returns them oldest first with their ground truth."""
    rng = random.Random(seed)
    fi = FastImport(path)
    base = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
    fi.files["src/parser.py"], _ = _lines(fi, 120, "    token_{m} = parse_part({i})")
    fi.files["README.md"] = ["# demo", "A demo project."]
    fi.write_text_files(base, "chore: initial import\n", ["src/parser.py", "README.md"])
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    commits: list[TokenCommit] = []

    def add(
        title: str,
        hour: int,
        meaningful: dict[str, tuple[str, int]],
        noise: dict[str, tuple[str, int]],
        binary: dict[str, int] | None = None,
    ) -> None:
        commit = TokenCommit(title)
        changes: dict[str, bytes | None] = {}
        for group, target in ((meaningful, commit.meaningful), (noise, commit.noise)):
            for file_path, (template, count) in group.items():
                lines, markers = _lines(fi, count, template)
                target[file_path] = markers
                if target is commit.meaningful:
                    commit.meaningful_text[file_path] = "".join(f"+{line}\n" for line in lines)
                changes[file_path] = ("\n".join(lines) + "\n").encode()
        for file_path, size in (binary or {}).items():
            changes[file_path] = b"\x89PNG\r\n\x1a\n\0" + rng.randbytes(size)
            commit.binary.append(file_path)
        commit.size_bytes = sum(len(content or b"") for content in changes.values())
        fi.commit(
            start + dt.timedelta(hours=hour),
            f"{title}\n\nSynthetic commit for the token benchmark.\n",
            changes,
        )
        commits.append(commit)

    # 1. The 2 MB commit: a huge new source file beside lock, generated, minified and binary files.
    add(
        "feat(engine): add the constraint solver (#501)",
        1,
        meaningful={
            "src/engine/solver.py": ("    residual_{m} = relax(state, {i}) * damping  # sweep {i}", 11000),
            "src/engine/__init__.py": ("from .solver import step_{m}", 20),
            "tests/test_solver.py": ("    assert solve(case_{m}) == expected[{i}]", 200),
            "docs/solver.md": ("The solver step {m} relaxes constraint {i}.", 60),
        },
        noise={
            "package-lock.json": (
                '    "node_modules/dep-{m}": {{"version": "1.{i}.0", "integrity": "sha512-{m}"}},',
                6000,
            ),
            "api/service_pb2.py": (
                "_DESCRIPTOR_{m} = _descriptor.FieldDescriptor(name='f{i}', index={i})",
                5000,
            ),
            "web/app.min.js": ("var a{m}=function(b){{return b*{i}}};" * 20, 300),
        },
        binary={"assets/diagram.png": 100_000},
    )
    # 2. Lock files only, plus the manifest that moved them.
    add(
        "chore(deps): bump locked dependencies (#502)",
        5,
        meaningful={"pyproject.toml": ('dep-{m} = ">=1.{i}"', 4)},
        noise={
            "poetry.lock": ('[[package]] name = "pkg-{m}" version = "2.{i}.1"', 3000),
            "go.sum": ("example.com/mod{m} v1.{i}.0 h1:{m}=", 800),
        },
    )
    # 3. Regenerated protobuf code beside a small handler change.
    add(
        "build(api): regenerate protobuf stubs (#503)",
        9,
        meaningful={"src/api/handlers.py": ("    reply_{m} = stub.call(request, {i})", 40)},
        noise={
            "api/service.pb.go": ('\tField{m} int32 `protobuf:"varint,{i},opt"`', 4000),
            "api/types_pb2.py": ("_TYPE_{m} = _reflection.GeneratedProtocolMessageType('T{i}')", 2000),
        },
    )
    # 4. An ordinary fix with its test.
    add(
        "fix(parser): handle empty input (#504)",
        13,
        meaningful={
            "src/parser_empty.py": ("    if not chunk_{m}: return None  # case {i}", 30),
            "tests/test_parser.py": ("    assert parse('') is None  # {m} {i}", 25),
        },
        noise={},
    )
    # 5. A refactor larger than the budget but without noise: only clipping applies.
    add(
        "refactor(core): split the scheduler module (#505)",
        17,
        meaningful={
            f"src/core/part{k}.py": (f"    part{k}_{{m}} = schedule(queue, {{i}})", 350) for k in range(5)
        },
        noise={},
    )
    shas = fi.finish()
    for index, commit in enumerate(commits):
        commit.sha = shas[index + 2]  # mark 1 is the initial import
    return commits
