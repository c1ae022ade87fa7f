"""The ASFF mapping and the PutEvents entry, pure: the rules moto does not enforce (required
fields, field limits, the 240 KB finding and 256 KB entry, deterministic ids, UpdatedAt that
only moves forward, customer-owned fields never sent)."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from recorder_guard.aws.alert_events import (
    ALERT_DETAIL_TYPE,
    ENTRY_MAX_BYTES,
    alert_documents,
    build_entry,
    entry_size,
)
from recorder_guard.domain.finding import (
    FINDING_MAX_BYTES,
    FindingTooLargeError,
    event_finding_id,
    finding_for_alert,
    finding_types,
    fit,
    resolved,
    size,
)
from recorder_guard.domain.recorder import RecorderStatus
from recorder_guard.domain.rules import load_rules, scheduled_rule
from tests.conftest import DETECTED_AT, alert_for
from tests.support import sample_events

# The user guide's required attributes (Severity and Types included, which botocore's model
# does not mark required): asff-required-attributes.html
REQUIRED = {
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
}
CUSTOMER_OWNED = {"Workflow", "WorkflowState", "Note", "UserDefinedFields", "VerificationState"}
STOPPED = RecorderStatus(recording=False)


def stop_event() -> dict[str, Any]:
    return copy.deepcopy(sample_events()["stop_recorder_assumed_role.json"])


def finding(event: dict[str, Any] | None = None) -> dict[str, Any]:
    built = finding_for_alert(alert_for(event or stop_event(), STOPPED))
    assert built is not None
    return built


def hostile_event(chars: int) -> dict[str, Any]:
    event = stop_event()
    detail = event["detail"]
    detail["requestParameters"]["configurationRecorderName"] = "r/" + "\u00e9" * chars
    detail["userAgent"] = "<script>" + "u" * chars
    detail["userIdentity"]["arn"] = "arn:aws:sts::111122223333:assumed-role/x/" + "a" * chars
    detail["eventID"] = "e/" * chars
    detail["sourceIPAddress"] = "s" * chars
    return event


def test_every_required_attribute_and_no_customer_field() -> None:
    built = finding()
    assert set(built) >= REQUIRED
    assert not CUSTOMER_OWNED & set(built)
    assert built["SchemaVersion"] == "2018-10-08"
    assert built["CreatedAt"] == built["UpdatedAt"]  # equal on creation
    assert built["Severity"] == {"Label": "HIGH", "Original": "high"}
    assert built["FindingProviderFields"] == {
        "Severity": built["Severity"],
        "Types": built["Types"],
    }
    assert built["AwsAccountId"] == "111122223333"
    assert built["ProductArn"].endswith(":111122223333:product/111122223333/default")


def test_the_actor_and_the_links_are_in_the_finding() -> None:
    built = finding()
    fields = built["ProductFields"]
    assert fields["recorder-guard/ActorArn"].startswith("arn:aws:sts::111122223333:assumed-role/")
    actor = next(r for r in built["Resources"] if r.get("ResourceRole") == "Actor")
    assert actor == {
        "Type": "AwsIamRole",
        "Id": "arn:aws:iam::111122223333:role/PlatformAdmin",
        "Partition": "aws",
        "Region": "us-east-1",
        "ResourceRole": "Actor",
    }
    assert built["Action"]["AwsApiCallAction"]["RemoteIpDetails"] == {"IpAddressV4": "203.0.113.24"}
    assert "/cloudtrailv2/" in built["SourceUrl"]
    assert "/config/home" in built["Remediation"]["Recommendation"]["Url"]
    assert built["Remediation"]["Recommendation"]["Text"].startswith("1. Check whether")


def test_types_follow_the_mitre_mapping_in_the_ttps_namespace() -> None:
    for rule in (*load_rules(), scheduled_rule("recorder_not_recording")):
        types = finding_types(rule)
        assert 1 <= len(types) <= 50
        for entry in types:
            namespace = entry.split("/")[0]
            assert namespace in ("TTPs", "Software and Configuration Checks"), entry
        assert "TTPs/Defense Evasion/Impair Defenses" in types


def test_the_same_stop_has_the_same_id_whenever_it_is_handled() -> None:
    event = stop_event()
    first = finding_for_alert(alert_for(event, STOPPED))
    later = finding_for_alert(
        alert_for(event, STOPPED).__class__(
            **{**alert_for(event, STOPPED).__dict__, "detected_at": DETECTED_AT + timedelta(1)}
        )
    )
    assert first is not None
    assert later is not None
    assert first["Id"] == later["Id"]
    assert first["UpdatedAt"] < later["UpdatedAt"]


@pytest.mark.parametrize("chars", [10, 5_000, 300_000])
def test_hostile_strings_stay_within_every_limit(chars: int) -> None:
    built = finding(hostile_event(chars))
    assert size(built) <= FINDING_MAX_BYTES
    assert 1 <= len(built["Id"]) <= 512
    assert len(built["Title"]) <= 256
    assert len(built["Description"]) <= 1024
    assert len(built["Remediation"]["Recommendation"]["Text"]) <= 512
    assert len(built["ProductFields"]) <= 50
    for key, value in built["ProductFields"].items():
        assert len(key) <= 128, key
        assert len(value) <= 2048, key
        assert not key.startswith("aws/")
    call = built["Action"]["AwsApiCallAction"]
    assert len(call["Api"]) <= 128
    assert len(call.get("DomainDetails", {}).get("Domain", "")) <= 128
    for resource in built["Resources"]:
        assert len(resource["Id"]) <= 512
    json.dumps(built)  # serialisable as sent


def test_a_long_event_id_still_gives_a_bounded_stable_id() -> None:
    long_id = event_finding_id("111122223333", "us-east-1", "x" * 2000)
    assert len(long_id) <= 512
    assert long_id == event_finding_id("111122223333", "us-east-1", "x" * 2000)
    assert long_id != event_finding_id("111122223333", "us-east-1", "y" * 2000)
    assert event_finding_id("1", "r", "a/b").count("/") == 4  # no stray separator


def test_resolution_archives_passes_and_moves_updated_at_forward() -> None:
    built = finding()
    earlier = DETECTED_AT - timedelta(hours=1)  # a clock behind what was sent before
    closed = resolved(built, earlier, "Resolved by recorder-guard: recording again.")
    assert closed["Id"] == built["Id"]
    assert closed["UpdatedAt"] > built["UpdatedAt"]
    assert closed["CreatedAt"] == built["CreatedAt"]
    assert closed["RecordState"] == "ARCHIVED"
    assert closed["Compliance"]["Status"] == "PASSED"
    assert closed["Title"].startswith("Resolved: ")
    assert resolved(closed, DETECTED_AT, "again")["Title"].count("Resolved: ") == 1
    assert not CUSTOMER_OWNED & set(closed)
    assert built["RecordState"] == "ACTIVE"  # the original is not changed


def test_a_finding_that_cannot_fit_is_refused() -> None:
    built = finding()
    built["Resources"][0]["Id"] = "x" * (FINDING_MAX_BYTES + 1)  # not a field we shorten
    with pytest.raises(FindingTooLargeError):
        fit(built)
    big = finding()
    big["ProductFields"] = {f"recorder-guard/F{n}": "v" * 2048 for n in range(48)}
    big["Resources"][0]["Details"]["Other"] = {f"K{n}": "w" * 50_000 for n in range(4)}
    assert size(fit(big)) <= FINDING_MAX_BYTES


def test_an_event_entry_is_clipped_under_the_putevents_limit() -> None:
    event = stop_event()
    event["detail"]["requestParameters"]["padding"] = ["p" * 1000] * 1000  # ~1 MB original
    alert = alert_for(event, STOPPED)
    entry = build_entry(alert_documents(alert), "alerts", ALERT_DETAIL_TYPE)
    assert entry_size(entry) < ENTRY_MAX_BYTES
    detail = json.loads(entry["Detail"])
    assert isinstance(detail, dict)  # PutEvents wants a JSON object
    assert detail["rule"]["id"] == "fbd44836-0d69-4004-a0b4-03c20370c435"
    small = build_entry(alert_documents(alert_for(stop_event(), STOPPED)), "b", "t")
    assert json.loads(small["Detail"]) == alert_for(stop_event(), STOPPED).to_document()
