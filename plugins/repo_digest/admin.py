"""Command line for the tracked-repo Variable, run beside Airflow's own CLI.

    python -m repo_digest.admin add-repo '{"repo": "owner/name", "timezone": "Asia/Shanghai"}'
    python -m repo_digest.admin remove-repo owner/name
    python -m repo_digest.admin check
    python -m repo_digest.admin setup [--llm-pool-slots N]

``add-repo`` validates the entry first and replaces an existing entry of the same repo,
so running it twice changes nothing. ``setup`` creates or resizes the Airflow pool that
bounds concurrent LLM calls (``llm_api``). All of them write the metadata DB of the
current AIRFLOW_HOME, like ``airflow variables set``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from repo_digest.config import VARIABLE_KEY, format_errors, parse_repo_entries
from repo_digest.pool import LLM_POOL, default_slots, set_llm_pool
from repo_digest.variable import read_repos_variable


def _current_items() -> list[Any]:
    raw = read_repos_variable()
    if not raw or not raw.strip():
        return []
    data = json.loads(raw)
    if not isinstance(data, list):
        raise SystemExit(f"{VARIABLE_KEY} is not a JSON list; fix it before adding repos")
    return data


def _write(items: list[Any]) -> None:
    from airflow.models import Variable

    # The raw JSON text: `--json`/serialize_json would encode it a second time.
    Variable.set(VARIABLE_KEY, json.dumps(items, ensure_ascii=False, indent=2))


def add_repo(entry_json: str) -> str:
    entry = json.loads(entry_json)
    parsed = parse_repo_entries(json.dumps([entry]))
    if parsed.errors:
        raise SystemExit("\n".join(f"invalid entry: {error}" for error in parsed.errors))
    repo = parsed.entries[0].repo.lower()
    items = [item for item in _current_items() if not (isinstance(item, dict) and str(item.get("repo", "")).lower() == repo)]
    _write([*items, entry])
    return f"{VARIABLE_KEY}: tracking {parsed.entries[0].repo} as DAG {parsed.entries[0].dag_id}"


def remove_repo(repo: str) -> str:
    items = _current_items()
    kept = [item for item in items if not (isinstance(item, dict) and str(item.get("repo", "")).lower() == repo.lower())]
    if len(kept) == len(items):
        return f"{VARIABLE_KEY}: {repo} was not tracked"
    _write(kept)
    return f"{VARIABLE_KEY}: no longer tracking {repo}"


def check() -> tuple[str, int]:
    parsed = parse_repo_entries(read_repos_variable())
    lines = [f"{entry.dag_id}{'' if entry.enabled else ' (disabled)'}" for entry in parsed.entries]
    if parsed.errors:
        lines.append(format_errors(parsed.errors))
    return "\n".join(lines) or f"{VARIABLE_KEY} is empty: no repos tracked", 1 if parsed.errors else 0


def setup(llm_pool_slots: int) -> str:
    if llm_pool_slots < 1:
        # An llm_analyze instance takes one slot; an empty pool would never run it.
        raise SystemExit(f"--llm-pool-slots {llm_pool_slots}: the pool needs at least 1 slot, or no commit is analysed")
    set_llm_pool(llm_pool_slots)
    return f"pool {LLM_POOL}: {llm_pool_slots} slots"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repo_digest.admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("add-repo", help="add or replace one entry (JSON object)").add_argument("entry")
    commands.add_parser("remove-repo", help="stop tracking owner/name").add_argument("repo")
    commands.add_parser("check", help="list the DAGs the Variable makes and its problems")
    setup_parser = commands.add_parser("setup", help="create or resize the llm_api pool (idempotent)")
    setup_parser.add_argument("--llm-pool-slots", type=int, default=default_slots())
    args = parser.parse_args(argv)
    if args.command == "add-repo":
        print(add_repo(args.entry))
    elif args.command == "setup":
        print(setup(args.llm_pool_slots))
    elif args.command == "remove-repo":
        print(remove_repo(args.repo))
    else:
        text, status = check()
        print(text)
        return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
