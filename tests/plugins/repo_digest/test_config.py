from __future__ import annotations

import datetime as dt
import json

import pytest

from repo_digest.config import ConfigError, dag_id_for, format_errors, parse_repo_entries


def parse(entries: object):
    return parse_repo_entries(json.dumps(entries))


def test_minimal_entry_gets_the_documented_defaults():
    parsed = parse([{"repo": "sgl-project/sglang"}])
    assert parsed.errors == []
    (entry,) = parsed.entries
    assert (entry.owner, entry.name, entry.dag_id) == ("sgl-project", "sglang", "repo_digest__sgl-project__sglang")
    assert (entry.timezone, entry.language, entry.branch, entry.source) == ("UTC", "zh", None, "github")
    assert entry.enabled is True and entry.start_date is None and entry.url is None


def test_every_optional_key_is_read():
    (entry,) = parse(
        [
            {
                "repo": "acme/tool.js",
                "timezone": "Asia/Shanghai",
                "language": "en",
                "branch": "release/2.x",
                "source": "git",
                "url": "/srv/git/tool.git",
                "start_date": "2025-01-31",
                "enabled": False,
            }
        ]
    ).entries
    assert entry.timezone == "Asia/Shanghai" and entry.language == "en" and entry.branch == "release/2.x"
    assert entry.source == "git" and entry.url == "/srv/git/tool.git"
    assert entry.start_date == dt.date(2025, 1, 31) and entry.enabled is False


@pytest.mark.parametrize("raw", [None, "", "   ", "[]"])
def test_no_variable_or_empty_list_means_no_repos_and_no_error(raw):
    parsed = parse_repo_entries(raw)
    assert parsed.entries == [] and parsed.errors == []


@pytest.mark.parametrize(
    ("entry", "key", "fragment"),
    [
        ({"repo": "a/b", "colour": "red"}, "colour", "unknown key"),
        ({"repo": "nobody"}, "repo", "owner/name"),
        ({"repo": "a/b/c"}, "repo", "exactly one '/'"),
        ({"repo": "a/.."}, "repo", "name '..'"),
        ({"repo": "a/b c"}, "repo", "name 'b c'"),
        ({"repo": "-a/b"}, "repo", "owner '-a'"),
        ({"repo": "a/b.git"}, "repo", ".git"),
        ({"repo": "a/b", "timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus' is not an IANA timezone"),
        ({"repo": "a/b", "timezone": "UTC+8"}, "timezone", "'UTC+8'"),
        ({"repo": "a/b", "language": "fr"}, "language", "'fr'"),
        ({"repo": "a/b", "branch": "a..b"}, "branch", "'a..b' is not a valid git branch"),
        ({"repo": "a/b", "source": "svn"}, "source", "'svn'"),
        ({"repo": "a/b", "source": "git"}, "url", "required when source is 'git'"),
        ({"repo": "a/b", "url": "https://x/y.git"}, "url", "only used with source 'git'"),
        ({"repo": "a/b", "start_date": "2026-02-30"}, "start_date", "'2026-02-30' is not a calendar date"),
        ({"repo": "a/b", "start_date": "19/02/2026"}, "start_date", "YYYY-MM-DD"),
        ({"repo": "a/b", "enabled": "yes"}, "enabled", "'yes'"),
        ({"timezone": "UTC"}, "repo", "is required"),
    ],
)
def test_a_bad_entry_is_named_by_index_key_and_value_and_the_good_ones_stay(entry, key, fragment):
    parsed = parse([{"repo": "good/one"}, entry, {"repo": "good/two"}])
    assert [e.repo for e in parsed.entries] == ["good/one", "good/two"]
    assert len(parsed.errors) >= 1
    error = parsed.errors[0]
    assert error.index == 1 and error.key == key
    assert fragment in str(error), str(error)
    assert str(error).startswith("repo_digest_repos[1]")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{not json", "is not valid JSON"),
        ('{"repo": "a/b"}', "must be a JSON list"),
        ('"a/b"', "must be a JSON list"),
    ],
)
def test_a_variable_that_is_not_a_json_list_is_one_clear_error(raw, fragment):
    parsed = parse_repo_entries(raw)
    assert parsed.entries == []
    assert len(parsed.errors) == 1 and parsed.errors[0].index is None
    assert str(parsed.errors[0]).startswith("repo_digest_repos: ") and fragment in str(parsed.errors[0])


def test_a_non_object_entry_is_reported():
    parsed = parse([{"repo": "a/b"}, "c/d", 7])
    assert [e.repo for e in parsed.entries] == ["a/b"]
    assert [(e.index, e.key) for e in parsed.errors] == [(1, None), (2, None)]
    assert "'c/d'" in str(parsed.errors[0])


def test_duplicates_keep_the_first_and_name_it_case_insensitively():
    parsed = parse([{"repo": "Acme/Tool"}, {"repo": "x/y"}, {"repo": "acme/tool", "language": "en"}])
    assert [e.repo for e in parsed.entries] == ["Acme/Tool", "x/y"]
    assert parsed.errors == [ConfigError(2, "acme/tool", "repo", "duplicates entry 0; kept the first")]


def test_disabled_entries_are_valid_but_not_enabled():
    parsed = parse([{"repo": "a/b", "enabled": False}, {"repo": "c/d"}])
    assert [e.repo for e in parsed.entries] == ["a/b", "c/d"]
    assert [e.repo for e in parsed.enabled] == ["c/d"]


def test_several_problems_of_one_entry_are_all_reported_and_formatted():
    parsed = parse([{"repo": "a/b", "timezone": "Nowhere/City", "extra": 1}])
    assert {e.key for e in parsed.errors} == {"timezone", "extra"}
    text = format_errors(parsed.errors)
    assert text.startswith("repo_digest_repos has 2 problems; the other entries' DAGs are unaffected:\n  - ")
    assert "Nowhere/City" in text and "'extra'" in text


def test_one_problem_is_one_sentence():
    parsed = parse([{"repo": "good/one"}, {"repo": "bad/one", "timezone": "Mars/Base"}])
    (error,) = parsed.errors
    assert format_errors(parsed.errors) == f"{error}. The other entries' DAGs are unaffected."
    assert "\n" not in format_errors(parsed.errors)


def test_dag_id_keeps_dashes_and_dots():
    assert dag_id_for("my-org/my.repo") == "repo_digest__my-org__my.repo"


@pytest.mark.parametrize("repo", ["abc/name\n", "abc\n/name", "a/b "])
def test_trailing_newlines_or_spaces_are_not_accepted(repo):
    parsed = parse([{"repo": repo}])
    assert parsed.entries == [] and parsed.errors[0].key == "repo"


@pytest.mark.parametrize(
    "url",
    [
        "https://x-access-token:ghp_SECRET123@git.example.com/team/tool.git",
        "https://ghp_SECRET123@git.example.com/team/tool.git",
        "ssh://git:ghp_SECRET123@git.example.com/team/tool.git",
    ],
)
def test_a_git_url_with_credentials_is_refused_without_echoing_them(url):
    parsed = parse([{"repo": "good/one"}, {"repo": "team/tool", "source": "git", "url": url}])
    assert [e.repo for e in parsed.entries] == ["good/one"]
    message = str(parsed.errors[0])
    assert parsed.errors[0].key == "url" and "must not carry credentials" in message
    assert "ghp_SECRET123" not in message and "***@git.example.com" in message


@pytest.mark.parametrize(
    "url",
    ["ssh://git@git.example.com/team/tool.git", "git@git.example.com:team/tool.git", "/srv/git/tool.git",
     "file:///srv/git/tool.git", "https://git.example.com/team/tool.git"],
)  # fmt: skip
def test_git_urls_without_credentials_are_accepted(url):
    parsed = parse([{"repo": "team/tool", "source": "git", "url": url}])
    assert parsed.errors == [] and parsed.entries[0].url == url
