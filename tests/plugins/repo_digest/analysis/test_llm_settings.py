from __future__ import annotations

import pytest

from repo_digest.analysis.llm_settings import LLMSettingsError, settings_from_connection


def test_host_key_and_model_from_the_connection():
    choice = settings_from_connection("openai_default", "sk-1", "https://api.deepseek.com/v1", {"model": "deepseek-chat"}, None)
    settings = choice.settings
    assert settings is not None and choice.reason is None
    assert (settings.base_url, settings.api_key, settings.model, settings.method) == (
        "https://api.deepseek.com/v1", "sk-1", "deepseek-chat", "function_calling",
    )  # fmt: skip
    assert "sk-1" not in repr(settings)


def test_the_openai_providers_client_kwargs_base_url_wins_and_entry_model_overrides():
    extra = {"openai_client_kwargs": {"base_url": "http://vllm:8000/v1"}, "model": "m1", "structured_output_method": "json_schema"}
    settings = settings_from_connection("c", "k", "ignored", extra, "m2").settings
    assert (settings.base_url, settings.model, settings.method) == ("http://vllm:8000/v1", "m2", "json_schema")


def test_no_model_means_rules_with_a_reason():
    choice = settings_from_connection("c", "k", "http://x/v1", {}, None)
    assert choice.settings is None and choice.reason == "no_model"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"model": "m", "structured_output_method": "xml"}, "structured_output_method"),
        ({"model": "m", "timeout": "soon"}, "'timeout' must be a number"),
    ],
)
def test_misconfigured_extras_are_errors_naming_the_connection(extra, fragment):
    with pytest.raises(LLMSettingsError) as error:
        settings_from_connection("my_llm", "k", None, extra, None)
    assert "'my_llm'" in str(error.value) and fragment in str(error.value)


def test_prices_and_limits():
    extra = {"model": "m", "price_per_1m_input_tokens": "0.15", "price_per_1m_output_tokens": 0.6, "max_attempts": 2}
    settings = settings_from_connection("c", "k", None, extra, None).settings
    assert (settings.price_per_1m_input_tokens, settings.price_per_1m_output_tokens, settings.max_attempts) == (0.15, 0.6, 2)
