"""The connector contract in code: every provider implements the abstract base, found by name.

A connector that forgot a method fails here at instantiation, not in a worker in production;
a provider name we do not know is an error that names it, never a None that fails later.
"""
from __future__ import annotations

from typing import Any

import pytest

from inbox.connectors import CONNECTORS, PROVIDERS, UnknownProvider, build, connector_class
from inbox.connectors.base import (ActionResult, ConnectResult, Connector, ProviderError, Rejected, Target,
                                   call)

# Enough for each constructor: the credentials and settings its provider's docs ask for.
SAMPLE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "getloo": ({"token": "T"}, {}),
    "resont": ({"token": "T"}, {"account_id": "101"}),
    "socialwall": ({"api_key": "K"}, {"wall_id": "9074"}),
    "socialposts": ({"token": "T"}, {"brand": "b3ad887b-a14e-4bff-b618-a2edb675d19b"}),
    "custom": ({}, {}),
}


def test_the_registry_is_every_provider_of_the_vocabulary():
    assert set(CONNECTORS) == set(PROVIDERS) == {"getloo", "resont", "socialwall", "socialposts", "custom"}
    assert set(SAMPLE) == set(CONNECTORS)


@pytest.mark.parametrize("provider", sorted(CONNECTORS))
def test_every_provider_subclasses_the_base_and_implements_every_abstract_method(provider):
    cls = connector_class(provider)
    assert issubclass(cls, Connector) and cls.provider == provider
    assert not cls.__abstractmethods__, f"{cls.__name__} leaves {sorted(cls.__abstractmethods__)} abstract"
    credentials, settings = SAMPLE[provider]
    connector = build(provider, "http://127.0.0.1:9", credentials, settings)
    assert isinstance(connector, cls)
    for method in ("connect", "perform", "setup", "fetch", "parse", "route", "validate_reply", "validate_action",
                   "check_credentials"):
        assert callable(getattr(connector, method))
    # The class-level facts the pages, the API and the scheduler read.
    assert isinstance(cls.polled, bool) and isinstance(cls.webhooks, bool)
    assert isinstance(cls.ACTIONS, frozenset) and isinstance(cls.CHANNEL_ACTIONS, frozenset)
    assert cls.default_network


@pytest.mark.parametrize("provider", sorted(CONNECTORS))
def test_an_action_no_provider_has_is_rejected_before_queueing(provider):
    with pytest.raises(Rejected) as err:
        connector_class(provider).validate_action("teleport", "comment", {})
    assert err.value.code in ("unsupported_action", "not_applicable") and not err.value.retryable


@pytest.mark.parametrize("name", ["nope", "", "Getloo", None])
def test_an_unknown_provider_is_an_error_that_names_it(name):
    with pytest.raises(UnknownProvider) as err:
        connector_class(name)
    assert isinstance(err.value, ValueError) and err.value.provider == name
    assert repr(name) in str(err.value) and "getloo" in str(err.value)
    with pytest.raises(UnknownProvider):
        build(name, "https://example.org", {})


class Minimal(Connector):
    """Only what the base declares abstract: everything else comes from the defaults."""

    provider = "minimal"
    default_network = "minimal"
    credential_fields = ("token",)

    def connect(self) -> list[ConnectResult]:
        return [ConnectResult(account_ref="1", name="minimal", network="minimal", info={})]

    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        return ActionResult(external_id="1")

    @staticmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        raise Rejected("unsupported_action", f"minimal cannot {kind}")


def test_a_connector_missing_an_abstract_method_cannot_be_built():
    class Forgetful(Connector):
        provider = "forgetful"
        default_network = "forgetful"

        def connect(self) -> list[ConnectResult]:
            return []

    with pytest.raises(TypeError, match="perform"):
        Forgetful("https://example.org", {})


def test_optional_capabilities_default_to_a_clear_refusal_or_nothing():
    connector = Minimal("https://example.org/", {"token": "T"})
    assert connector.base_url == "https://example.org" and connector.settings == {}
    assert connector.setup("https://inbox.example/webhooks/minimal/x") is None      # nothing to register
    assert Minimal.route({"any": "body"}) is None                                  # one URL, one channel
    with pytest.raises(ProviderError) as err:
        connector.fetch({})
    assert err.value.code == "unsupported" and not err.value.retryable and "minimal" in err.value.message
    with pytest.raises(Rejected) as err:
        Minimal.parse({"event": "x"})
    assert err.value.code == "no_webhooks"
    with pytest.raises(Rejected) as err:
        Minimal.validate_reply("comment", "hello")
    assert err.value.code == "replies_unsupported"
    assert Minimal.check_credentials({"token": " T ", "extra": "dropped"}) == {"token": "T"}
    with pytest.raises(ValueError, match="token"):
        Minimal.check_credentials({"token": "  "})


def test_one_error_family_carries_what_callers_decide_on():
    exc = ProviderError("rate_limited", "slow down", retryable=True, status=429, trace_id="abc")
    assert (exc.code, exc.message, exc.retryable, exc.uncertain, exc.status, exc.trace_id) == \
        ("rate_limited", "slow down", True, False, 429, "abc")
    assert str(exc) == "slow down"
    assert issubclass(Rejected, ProviderError)


def test_transport_errors_say_whether_the_request_may_have_been_carried_out():
    import httpx

    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    def silent(request):
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(ProviderError) as err:
        call(httpx.Client(transport=httpx.MockTransport(refuse)), "GET", "https://example.org")
    assert (err.value.code, err.value.retryable, err.value.uncertain) == ("provider_unreachable", True, False)
    with pytest.raises(ProviderError) as err:
        call(httpx.Client(transport=httpx.MockTransport(silent)), "POST", "https://example.org")
    assert (err.value.code, err.value.retryable, err.value.uncertain) == ("provider_no_answer", False, True)
