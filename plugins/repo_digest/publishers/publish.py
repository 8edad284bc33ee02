"""Publish one digest to every target of its repository, each exactly once.

For each target, in the configured order:

1. what it would be sent is computed (no network) and hashed;
2. the receipt for (target, repository, day) is read: the same hash means this content
   was delivered already: *unchanged*, nothing is sent;
3. otherwise it is delivered (first time: published; a receipt with another hash: the
   digest changed, GitHub is updated in place and chat gets one message marked as an
   update) and the receipt written.

Every target is attempted; one that fails (service down, refused, misconfigured) is
reported with the reason and does not stop the others. :func:`raise_for_failures` then
fails the Airflow task naming the failed targets, and the task's retry re-runs
:func:`publish_targets`: targets with a receipt are unchanged, only the failed ones are sent.

Secrets: every connection's secrets are registered with the run's Redactor (and Airflow's
masker) before use, the HTTP libraries' loggers are filtered while publishing, and failure
reasons are redacted; exceptions raised here never chain the original (whose message may
hold a URL).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from repo_digest.publishers.base import Delivery, PublishContext, Publisher
from repo_digest.publishers.credentials import Redactor
from repo_digest.publishers.receipts import ReceiptStore, content_hash
from repo_digest.publishers.targets import target_key, template_values

if TYPE_CHECKING:
    from repo_digest.digest import Digest
    from repo_digest.store import DigestStore

log = logging.getLogger(__name__)

Status = Literal["sent", "unchanged", "failed"]


def _publishers() -> dict[str, Publisher]:
    from repo_digest.publishers.dingtalk import DingTalkPublisher
    from repo_digest.publishers.feishu import FeishuPublisher
    from repo_digest.publishers.github_targets import GithubFilePublisher, GithubIssuePublisher
    from repo_digest.publishers.mail import EmailPublisher
    from repo_digest.publishers.slack import SlackPublisher
    from repo_digest.publishers.webhook import WebhookPublisher

    return {
        "github_file": GithubFilePublisher(),
        "github_issue": GithubIssuePublisher(),
        "slack": SlackPublisher(),
        "feishu": FeishuPublisher(),
        "dingtalk": DingTalkPublisher(),
        "email": EmailPublisher(),
        "webhook": WebhookPublisher(),
    }


@dataclass(frozen=True)
class TargetResult:
    key: str
    type: str
    label: str
    status: Status
    action: str | None = None  # created | updated | sent | unchanged (None when failed)
    reason: str | None = None  # why it failed; never holds a secret
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        text = f"{self.label} [{self.key}]: {self.status}"
        if self.action and self.action != self.status:
            text += f" ({self.action})"
        return text + (f": {self.reason}" if self.reason else "")


@dataclass
class PublishReport:
    repo: str
    day: dt.date
    results: list[TargetResult] = field(default_factory=list)

    def with_status(self, status: Status) -> list[TargetResult]:
        return [result for result in self.results if result.status == status]

    @property
    def failed(self) -> list[TargetResult]:
        return self.with_status("failed")

    @property
    def sent(self) -> list[TargetResult]:
        return self.with_status("sent")

    @property
    def unchanged(self) -> list[TargetResult]:
        return self.with_status("unchanged")

    def summary(self) -> str:
        head = (
            f"{self.repo} {self.day}: {len(self.sent)} sent, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed"
        )
        return "\n".join([head, *(f"  - {result.line()}" for result in self.results)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "day": self.day.isoformat(),
            "results": [asdict(result) for result in self.results],
        }


class PublishError(Exception):
    """Some targets failed; the message names each with its reason (no secrets)."""

    def __init__(self, report: PublishReport) -> None:
        self.report = report
        failed, total = len(report.failed), len(report.results)
        lines = [f"{failed} of {total} publish target(s) failed for {report.repo} {report.day}:"]
        lines += [f"  - {result.label} [{result.key}]: {result.reason}" for result in report.failed]
        lines.append("The others are published (they have receipts); a retry sends only to the failed ones.")
        super().__init__("\n".join(lines))


def raise_for_failures(report: PublishReport) -> None:
    if report.failed:
        raise PublishError(report)


def viewer_url(base_url: str | None, repo: str, day: dt.date) -> str | None:
    """The digest's page in the viewer, absolute, from Airflow's ``[api] base_url``; None without one."""
    from repo_digest.viewer import app_path
    from repo_digest.viewer.paths import DigestRef, viewer_path

    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}{app_path(base_url)}{viewer_path(DigestRef(repo, day))}"


def publish_targets(
    digest: Digest,
    markdown: str,
    targets: Sequence[Any],
    store: DigestStore,
    *,
    digest_url: str | None,
) -> PublishReport:
    """Deliver ``digest`` to each of ``targets`` that has not received this content yet."""
    report = PublishReport(digest.repo, digest.day)
    if not targets:
        return report
    if not digest_url:
        log.warning("No digest URL (is Airflow's [api] base_url set?): messages will not link to the digest")
    redactor = Redactor()
    ctx = PublishContext(
        digest=digest,
        markdown=markdown,
        digest_url=digest_url,
        values=template_values(digest.repo, digest.day, digest.language),
        redactor=redactor,
    )
    receipts = ReceiptStore(store)
    publishers = _publishers()
    with redactor.guarding_logs():
        for target in targets:
            result = _publish_one(target, ctx, publishers[target.type], receipts)
            report.results.append(result)
            (log.warning if result.status == "failed" else log.info)("publish %s", result.line())
    return report


def _publish_one(
    target: Any, ctx: PublishContext, publisher: Publisher, receipts: ReceiptStore
) -> TargetResult:
    key = target_key(target)
    base = {"key": key, "type": target.type, "label": target.label}
    digest = ctx.digest
    try:
        digest_hash = content_hash(publisher.content(target, ctx))
        previous = receipts.read(digest.repo, digest.day, key)
    except Exception as exc:
        log.debug("publish %s: preparing failed:\n%s", target.label, ctx.redactor.traceback(exc))
        return TargetResult(**base, status="failed", reason=ctx.redactor.reason(exc))
    if previous is not None and previous.content_hash == digest_hash:
        return TargetResult(**base, status="unchanged", action="unchanged", details=previous.details)
    try:
        delivery: Delivery = publisher.deliver(target, ctx, previous)
    except Exception as exc:
        log.debug("publish %s: delivery failed:\n%s", target.label, ctx.redactor.traceback(exc))
        return TargetResult(**base, status="failed", reason=ctx.redactor.reason(exc))
    try:
        receipts.record(
            previous, key=key, type=target.type, label=target.label, target=target.model_dump(mode="json"),
            repo=digest.repo, day=digest.day, content_hash=digest_hash, action=delivery.action,
            details=delivery.details,
        )  # fmt: skip
    except Exception as exc:
        reason = (
            f"delivered ({delivery.action}), but its receipt could not be written: {ctx.redactor.reason(exc)}"
        )
        return TargetResult(
            **base, status="failed", action=delivery.action, reason=reason, details=delivery.details
        )
    status: Status = "unchanged" if delivery.action == "unchanged" else "sent"
    return TargetResult(**base, status=status, action=delivery.action, details=delivery.details)
