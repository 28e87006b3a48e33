"""Graph error codes map to typed exceptions, categories and actions."""

from __future__ import annotations

import pickle

import httpx
import pytest

from integrations.whatsapp_bot import errors as e
from integrations.whatsapp_bot.errors import Action

TO = "6281234567890"

# (code, class, category, action): the table of platforms.md § D.
TABLE = [
    (0, e.AuthException, e.AuthorizationError, Action.STOP),
    (10, e.PermissionDenied, e.AuthorizationError, Action.STOP),
    (190, e.AccessTokenInvalid, e.AuthorizationError, Action.STOP),
    (200, e.APIPermission, e.AuthorizationError, Action.STOP),
    (299, e.APIPermission, e.AuthorizationError, Action.STOP),
    (100, e.InvalidParameter, e.RequestError, Action.FAIL),
    (131008, e.MissingRequiredParameter, e.RequestError, Action.FAIL),
    (131009, e.ParameterValueInvalid, e.RequestError, Action.FAIL),
    (368, e.TemporarilyBlocked, e.IntegrityError, Action.STOP),
    (131031, e.AccountLocked, e.IntegrityError, Action.STOP),
    (4, e.TooManyAPICalls, e.ThrottlingError, Action.RETRY_LATER),
    (80007, e.AccountRateLimit, e.ThrottlingError, Action.RETRY_LATER),
    (130429, e.ThroughputExceeded, e.ThrottlingError, Action.RETRY_LATER),
    (131056, e.PairRateLimit, e.ThrottlingError, Action.RETRY_LATER),
    (131048, e.SpamRateLimit, e.ThrottlingError, Action.RETRY_LATER),
    (131047, e.ReEngagementRequired, e.RecipientError, Action.SEND_TEMPLATE),
    (131026, e.MessageUndeliverable, e.RecipientError, Action.SKIP_RECIPIENT),
    (131049, e.MarketingMessageWithheld, e.RecipientError, Action.SKIP_RECIPIENT),
    (131050, e.UserStoppedMarketing, e.RecipientError, Action.OPT_OUT),
    (132000, e.TemplateParamCountMismatch, e.TemplateError, Action.FAIL),
    (132001, e.TemplateNotFound, e.TemplateError, Action.FAIL),
    (132005, e.TemplateTextTooLong, e.TemplateError, Action.FAIL),
    (132007, e.TemplateContentPolicyViolation, e.TemplateError, Action.FAIL),
    (132008, e.TemplateParamFormatInvalid, e.TemplateError, Action.FAIL),
    (132012, e.TemplateParamFormatInvalid, e.TemplateError, Action.FAIL),
    (132015, e.TemplatePaused, e.TemplateError, Action.FAIL),
    (132016, e.TemplateDisabled, e.TemplateError, Action.FAIL),
    (132003, e.TemplateError, e.TemplateError, Action.FAIL),  # in the range, no leaf class
    (131000, e.UnknownError, e.ServerError, Action.RETRY_LATER),
    (131016, e.ServiceUnavailable, e.ServerError, Action.RETRY_LATER),
]
TRANSIENT = {4, 80007, 130429, 131056, 131048, 131000, 131016}


def _envelope(code: int, *, subcode: int | None = None) -> dict:
    error = {
        "message": f"(#{code}) something",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": f"details for {code}"},
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(
    ("code", "cls", "category", "action"), TABLE, ids=[str(row[0]) for row in TABLE]
)
def test_each_graph_code_raises_its_class(make_client, recorder, code, cls, category, action):
    recorder.answers.append(httpx.Response(400, json=_envelope(code, subcode=2494010)))

    with pytest.raises(category) as info:
        make_client().send_text(TO, "hai")

    err = info.value
    assert type(err) is cls
    assert (err.code, err.subcode, err.http_status) == (code, 2494010, 400)
    assert err.details == f"details for {code}"
    assert err.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert err.message == f"(#{code}) something"
    assert err.action is action
    assert err.is_transient is (code in TRANSIENT)


@pytest.mark.parametrize(
    ("code", "cls", "category", "action"), TABLE, ids=[str(row[0]) for row in TABLE]
)
def test_action_for_code_matches_webhook_codes(code, cls, category, action):
    assert e.action_for_code(code) is action


@pytest.mark.parametrize(
    ("status", "expected", "transient"),
    [
        (500, e.ServerError, True),
        (503, e.ServerError, True),
        (429, e.ThrottlingError, True),
        (401, e.AuthorizationError, False),
        (400, e.WhatsAppError, False),
    ],
)
def test_unknown_code_falls_back_on_http_status(make_client, recorder, status, expected, transient):
    recorder.answers.append(httpx.Response(status, json=_envelope(999999)))
    with pytest.raises(e.WhatsAppError) as info:
        make_client().send_text(TO, "hai")
    assert type(info.value) is expected
    assert info.value.is_transient is transient
    assert info.value.code == 999999


def test_non_json_gateway_error_is_transient_server_error(make_client, recorder):
    recorder.answers.append(httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(e.ServerError) as info:
        make_client().send_text(TO, "hai")
    assert info.value.code is None
    assert "Bad Gateway" in info.value.message
    assert info.value.is_transient


def test_known_code_wins_over_http_status(make_client, recorder):
    # A 131047 answered with HTTP 500 is still a re-engagement problem, not a server error.
    recorder.answers.append(httpx.Response(500, json=_envelope(131047)))
    with pytest.raises(e.ReEngagementRequired):
        make_client().send_text(TO, "hai")


def test_the_brief_groups_are_told_apart():
    retry = {4, 80007, 130429, 131056, 131048, 131000, 131016}
    assert {c for c in retry if e.action_for_code(c) is Action.RETRY_LATER} == retry
    assert e.action_for_code(131026) is Action.SKIP_RECIPIENT
    assert e.action_for_code(131047) is Action.SEND_TEMPLATE
    assert e.action_for_code(131050) is Action.OPT_OUT
    assert {e.action_for_code(c) for c in (368, 131031, 0, 10, 190)} == {Action.STOP}


def test_every_leaf_class_claims_codes_and_no_code_is_claimed_twice():
    singles, ranged = e._code_map()  # raises on a duplicate
    leaves = [cls for cls in e._subclasses(e.WhatsAppError) if not cls.__subclasses__()]
    without_codes = {c.__name__ for c in leaves if not tuple(c.codes)}
    assert without_codes == {"WhatsAppConnectionError", "UnexpectedResponse", "RateLimitTimeout"}
    assert ranged == (e.APIPermission, e.TemplateError)
    assert singles[131056] is e.PairRateLimit


def test_str_names_code_status_and_trace():
    err = e.error_class_for(130429)(
        130429, "(#130429) Rate limit hit", http_status=400, fbtrace_id="T1"
    )
    assert str(err) == "(#130429) Rate limit hit (code=130429, http_status=400, fbtrace_id=T1)"
    assert repr(err) == "ThroughputExceeded(code=130429, message='(#130429) Rate limit hit')"


def test_connection_error_wraps_httpx_error_text():
    err = e.WhatsAppConnectionError.from_httpx(httpx.ConnectError("connection refused"))
    assert err.message == "ConnectError: connection refused"
    assert err.is_transient and err.action is Action.RETRY_LATER


def test_errors_survive_pickling_with_all_fields():
    err = e.PairRateLimit(
        131056, "(#131056) pair", subcode=7, details="d", fbtrace_id="T", http_status=400
    )
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is e.PairRateLimit
    fields = ("code", "message", "subcode", "details", "fbtrace_id", "http_status")
    assert [getattr(copy, name) for name in fields] == [131056, "(#131056) pair", 7, "d", "T", 400]
    assert type(err)(*err.args).code == 131056  # what Celery's JSON results do
