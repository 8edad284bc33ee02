"""Which paths a commit touches, by what they usually hold: security, interfaces, hot paths.

Pure functions of a path string. Words are matched on path parts split at / . _ -, so
"tokenizer_manager.py" is not "token" and "src/auth/" is "auth".
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter

from repo_digest.diffs import FileExcerpt

# Path words (path split on / . _ -) that mark security-sensitive code. "token" is left
# out on purpose: in ML and compiler code it almost always means a text token.
_SENSITIVE_WORDS = frozenset(
    "auth authn authz oauth oauth2 authentication authorization login logout password passwords passwd "
    "secret secrets credential credentials crypto cryptography cipher encrypt encryption decrypt tls ssl "
    "cert certs certificate certificates permission permissions acl rbac iam jwt csrf security keyring "
    "keystore sandbox".split()
)
# Directory names that usually hold a project's public surface.
_API_DIRS = frozenset("api apis public sdk openapi proto protos include interfaces".split())
_API_SUFFIXES = (".proto", ".graphql", ".d.ts", ".thrift", ".avsc")
_MIGRATION_DIRS = frozenset("migrations migration alembic migrate".split())
# Directory words where speed usually matters; only ever quoted as "possible" hot paths.
_HOT_WORDS = frozenset(
    "kernel kernels cuda csrc triton simd ops jit allocator cache scheduler benchmark benchmarks bench perf".split()
)
# Manifests that pin dependencies (the build category also holds Dockerfiles and Makefiles).
_DEPENDENCY_NAMES = re.compile(
    r"^(?:requirements.*\.txt|constraints.*\.txt|pyproject\.toml|setup\.py|setup\.cfg|package\.json|"
    r"Cargo\.toml|go\.mod|pom\.xml|.*\.gradle(?:\.kts)?|Gemfile|.*\.gemspec|composer\.json|Pipfile|"
    r"environment\.ya?ml)$"
)


def _path_words(path: str) -> set[str]:
    return set(re.split(r"[/._\-]+", path.lower())) - {""}


def _dirs(path: str) -> list[str]:
    return [part.lower() for part in path.split("/")[:-1]]


def is_sensitive_path(path: str) -> bool:
    return bool(_path_words(path) & _SENSITIVE_WORDS)


def is_api_path(path: str) -> bool:
    return bool(set(_dirs(path)) & _API_DIRS) or path.lower().endswith(_API_SUFFIXES)


def is_migration_path(path: str) -> bool:
    return bool(set(_dirs(path)) & _MIGRATION_DIRS) or path.lower().endswith(".sql")


def is_hot_path(path: str) -> bool:
    return bool({w for part in _dirs(path) for w in re.split(r"[._\-]+", part)} & _HOT_WORDS)


def is_dependency_file(excerpt: FileExcerpt) -> bool:
    return excerpt.noise == "lock" or bool(_DEPENDENCY_NAMES.match(posixpath.basename(excerpt.path)))


def top_dirs(files: list[FileExcerpt], depth: int = 2, limit: int = 5) -> list[str]:
    """Directories (up to ``depth`` levels, with a trailing '/') holding the most changed lines.

    Every result is a directory prefix of one of ``files``' paths, so text built from it
    never names a place the commit did not touch. Files at the repository root are skipped.
    """
    weight: Counter[str] = Counter()
    for f in files:
        parts = f.path.split("/")[:-1][:depth]
        if parts:
            weight["/".join(parts) + "/"] += f.additions + f.deletions + 1
    return [d for d, _ in sorted(weight.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def main_dir(files: list[FileExcerpt]) -> str | None:
    """The deepest directory all ``files`` share, else the heaviest top-level one; None at the root."""
    if not files:
        return None
    split = [f.path.split("/")[:-1] for f in files]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    if common:
        return "/".join(common) + "/"
    heaviest = top_dirs(files, depth=1, limit=1)
    return heaviest[0] if heaviest else None
