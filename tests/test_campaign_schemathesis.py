"""Schemathesis against the campaign routes of the OpenAPI document, with a coordinator's and
a participant's token on a real campaign: no server error, every status and body as the
document says."""

from __future__ import annotations

import tempfile
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from api.service import create_app
from campaign import Campaigns, Store
from compiler import load_compiled

SLUG = "fuzz"
_compiled = load_compiled()
_url = f"sqlite:///{tempfile.mkdtemp(prefix='rulebook-schemathesis-')}/c.db"
_campaigns = Campaigns(Store(_url), _compiled)
_info, COORDINATOR = _campaigns.create(SLUG, select_=["record=ET96"])
_added, PARTICIPANT = _campaigns.add_participant(SLUG, "oa100", role="insurer", name="OA 100")
_campaigns.move(SLUG, "freeze")
_campaigns.store.close()

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_compiled, store=_url)).include(
    path_regex="^/v1/campaigns"
)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_campaign_routes_conform(case: schemathesis.Case[Any]) -> None:
    if "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = SLUG
    token = (
        PARTICIPANT
        if case.method == "POST" and case.path.endswith("/submissions")
        else (COORDINATOR)
    )
    # valid requests are refused where the campaign's state or the token does not allow
    # them (documented 403, 404, 409, 422): that is not a failure to accept valid data; and
    # a request generated without its token gets one here, so it is no longer negative
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )


def test_integers_beyond_the_store_are_refused_not_a_500() -> None:
    """Schemathesis found it: ?after=2**63 reached SQLite and overflowed (500); every integer a
    route takes is bounded by the stores' 64-bit integers (422 beyond)."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(_compiled, store=_url)) as client:
        auth = {"Authorization": f"Bearer {COORDINATOR}"}
        for query in ("events?after=", "matrix?round=", "diff?from=1&to="):
            reply = client.get(f"/v1/campaigns/{SLUG}/{query}{2**63}", headers=auth)
            assert reply.status_code == 422, (query, reply.text)
        assert (
            client.get(f"/v1/campaigns/{SLUG}/events?after={2**63 - 1}", headers=auth).status_code
            == 200
        )
