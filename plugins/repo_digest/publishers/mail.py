"""The digest by email, through Airflow's SMTP connection (the smtp provider's SmtpHook).

One ``multipart/alternative`` message: the Markdown as the plain-text part and the same
Markdown rendered to HTML (markdown-it-py, then sanitized with nh3 by the viewer's
``render_digest_html``: no script, no style, http(s) links only) as the HTML part, both
UTF-8 and quoted-printable. The subject is the target's template; a changed digest is sent
once more with the subject marked "[Updated]" / "【更新】".

SmtpHook logs in as the connection says (SSL unless extra ``disable_ssl``, STARTTLS unless
``disable_tls``, login/password, ``from_email`` in the extra). It only builds HTML-only
messages and retries ``sendmail`` on any error (which can deliver a message twice), so
this module builds the message itself and hands it to the hook's logged-in client once.

The Message-ID is derived from the target and the content: a resend of the same content
(after a crash between sending and writing the receipt) carries the same id, which mail
clients use to drop duplicates.
"""

from __future__ import annotations

import email.policy
import html
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from repo_digest.publishers.base import Delivery, PublishContext
from repo_digest.publishers.credentials import DeliveryError, PublishConfigError, get_connection
from repo_digest.publishers.receipts import Receipt, content_hash
from repo_digest.publishers.targets import EmailTarget, render_template

UPDATE_MARK = {"zh": "【更新】", "en": "[Updated] "}
LINK_LABEL = {"zh": "在 Airflow 中查看完整摘要", "en": "View the digest in Airflow"}
UPDATE_NOTE = {
    "zh": "这份摘要已更新，替代之前发送的版本。",
    "en": "This digest was updated; it replaces the one sent before.",
}


def subject_of(target: EmailTarget, ctx: PublishContext, *, update: bool) -> str:
    subject = " ".join(render_template(target.subject, ctx.values).split())
    return UPDATE_MARK[ctx.digest.language] + subject if update else subject


def plain_text(ctx: PublishContext, *, update: bool) -> str:
    language = ctx.digest.language
    head = []
    if update:
        head.append(UPDATE_NOTE[language])
    if ctx.digest_url:
        head.append(f"{LINK_LABEL[language]}: {ctx.digest_url}")
    return ("\n".join(head) + "\n\n" if head else "") + ctx.markdown


def html_body(ctx: PublishContext, subject: str, *, update: bool) -> str:
    from repo_digest.viewer.sanitize import render_digest_html

    language = ctx.digest.language
    parts = []
    if update:
        parts.append(f"<p><strong>{html.escape(UPDATE_NOTE[language])}</strong></p>")
    if ctx.digest_url:
        url = html.escape(ctx.digest_url, quote=True)
        parts.append(f'<p><a href="{url}">{html.escape(LINK_LABEL[language])}</a></p>')
    parts.append(render_digest_html(ctx.markdown))
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; '
        'line-height: 1.5;">\n' + "\n".join(parts) + "\n</body></html>\n"
    )


def build_message(
    target: EmailTarget, ctx: PublishContext, *, from_email: str, update: bool, message_id: str
) -> EmailMessage:
    subject = subject_of(target, ctx, update=update)
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject
    message["From"] = from_email
    message["To"] = ", ".join(target.to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["X-Repo-Digest"] = f"{ctx.digest.repo} {ctx.digest.day.isoformat()}"
    message.set_content(
        plain_text(ctx, update=update), subtype="plain", charset="utf-8", cte="quoted-printable"
    )
    message.add_alternative(html_body(ctx, subject, update=update), subtype="html", charset="utf-8",
                            cte="quoted-printable")  # fmt: skip
    return message


class EmailPublisher:
    def content(self, target: EmailTarget, ctx: PublishContext) -> bytes:
        parts = [
            subject_of(target, ctx, update=False),
            ",".join(target.to),
            ctx.digest_url or "",
            ctx.markdown,
        ]
        return "\0".join(parts).encode("utf-8")

    def deliver(self, target: EmailTarget, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        connection = get_connection(target.conn_id, ctx.redactor)
        update = previous is not None
        digest_hash = content_hash(self.content(target, ctx))
        domain = (target.from_email or "repo-digest.invalid").rpartition("@")[2]
        message_id = f"<repo-digest.{digest_hash[7:31]}.{'u' if update else 'p'}@{domain}>"
        hook = SmtpHook(smtp_conn_id=target.conn_id)
        with hook:  # connects and logs in; closes the connection on the way out
            client = getattr(hook, "_smtp_client", None)
            if client is None:  # pragma: no cover - the provider changed its internals
                raise DeliveryError("SmtpHook did not open an SMTP client")
            from_email = target.from_email or hook.from_email or _login_address(connection)
            if not from_email:
                raise PublishConfigError(
                    f"no sender: set the target's 'from_email' or the extra 'from_email' of connection "
                    f"{target.conn_id!r}"
                )
            message = build_message(target, ctx, from_email=from_email, update=update, message_id=message_id)
            refused: dict[str, Any] = client.sendmail(from_email, list(target.to), message.as_bytes())
        accepted = [address for address in target.to if address not in refused]
        details = {"message_id": message_id, "accepted": accepted, "refused": sorted(refused)}
        return Delivery("updated" if update else "sent", details)


def _login_address(connection: Any) -> str | None:
    login = connection.login or ""
    return login if "@" in login else None
