"""Publishing digests where teams read them: GitHub, chat, email, webhooks; exactly once.

``targets`` (the configuration models) is light and imported by config.py at parse time;
everything else loads on first use, inside tasks::

    from repo_digest.publishers import publish_targets, raise_for_failures, viewer_url
"""

from __future__ import annotations

from typing import Any

from repo_digest.publishers.targets import PublishTargets, Target, parse_targets, target_key

__all__ = [
    "PublishError",
    "PublishReport",
    "PublishTargets",
    "Target",
    "TargetResult",
    "parse_targets",
    "publish_targets",
    "raise_for_failures",
    "target_key",
    "viewer_url",
]

_LAZY = {
    "PublishError",
    "PublishReport",
    "TargetResult",
    "publish_targets",
    "raise_for_failures",
    "viewer_url",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from repo_digest.publishers import publish

        return getattr(publish, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
