"""Message schemas: binary sample encoding, ObsPy and EventData round trips, JSON Schema files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from obspy import Trace, UTCDateTime
from pydantic import ValidationError

from services.runtime import PoisonMessage
from services.schemas import (
    SCHEMAS,
    SCHEMAS_DIR,
    BinaryArray,
    BundleMessage,
    DeadLetter,
    OriginMessage,
    RawRecord,
    TruthSTF,
    schema_text,
)
from symae.contract import DataContract
from symae.data.dataset import EventData, TraceGroup
from symae.data.events import Origin


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int16", "int8"])
@pytest.mark.parametrize("compress", [False, True])
def test_binary_array_round_trip(dtype: str, compress: bool) -> None:
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 5)) * 100).astype(dtype)
    encoded = BinaryArray.from_numpy(array, compress=compress)
    back = BinaryArray.model_validate_json(encoded.model_dump_json()).to_numpy()
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 5)
    np.testing.assert_array_equal(back, array)


def test_samples_are_little_endian_bytes_not_number_lists() -> None:
    samples = np.array([1.0, -2.5, 3.25], dtype=np.float32)
    text = BinaryArray.from_numpy(samples).model_dump_json()
    assert "-2.5" not in text  # no JSON number list
    import base64

    raw = base64.b64decode(json.loads(text)["data"])
    assert raw == samples.astype("<f4").tobytes()


def test_bytes_that_do_not_fit_the_shape_are_refused() -> None:
    bad = BinaryArray.from_numpy(np.zeros(4, np.float32)).model_copy(update={"shape": [5]})
    with pytest.raises(ValueError, match="16 bytes of float32 for shape \\[5\\], expected 20"):
        bad.to_numpy()
    with pytest.raises(ValueError, match="base64"):
        BinaryArray(dtype="int32", shape=[1], data="***").to_numpy()


def test_raw_record_round_trip_through_obspy() -> None:
    data = np.arange(200, dtype=np.int32) - 100
    trace = Trace(
        data=data,
        header={
            "network": "II",
            "station": "BFO",
            "location": "00",
            "channel": "BHZ",
            "sampling_rate": 20.0,
            "starttime": UTCDateTime("2018-01-23T09:26:40.025"),
        },
    )
    record = RawRecord.from_trace("ev1", trace, stationxml=b"<FDSNStationXML/>", compress=True)
    back = RawRecord.model_validate_json(record.model_dump_json())
    tr = back.to_trace()
    assert tr.id == "II.BFO.00.BHZ"
    assert tr.stats.starttime == trace.stats.starttime
    assert tr.stats.sampling_rate == 20.0
    np.testing.assert_array_equal(tr.data, data)
    assert back.stationxml_bytes() == b"<FDSNStationXML/>"


def test_raw_record_rejects_bad_seed_id_and_version() -> None:
    trace = Trace(
        data=np.zeros(3, np.float32), header={"network": "XX", "station": "A1", "channel": "BHZ"}
    )
    base = RawRecord.from_trace("ev1", trace)
    payload = json.loads(base.model_dump_json())
    with pytest.raises(ValidationError, match="seed_id"):
        RawRecord.model_validate({**payload, "seed_id": "not a seed id"})
    with pytest.raises(ValidationError, match="schema_version"):
        RawRecord.model_validate({**payload, "schema_version": 2})


def _event() -> EventData:
    contract = DataContract()
    rng = np.random.default_rng(3)
    origin = Origin("ev9", "2021-03-04T19:28:33Z", -29.7, -177.3, 28.0, 7.4)
    groups = {
        p: TraceGroup(
            "ev9",
            p,
            rng.standard_normal((n, contract.nt)).astype(np.float32),
            [f"XX.S{p}{i}.00.BHZ" for i in range(n)],
            fields={
                "snr": rng.uniform(2, 9, n).astype(np.float32),
                "polarity": np.ones(n, np.int8),
            },
        )
        for p, n in ((12, 2), (40, 3))
    }
    return EventData(origin=origin, groups=groups, provenance={"source": "test"})


def test_bundle_round_trip_keeps_traces_fields_and_truth() -> None:
    event = _event()
    truth = TruthSTF(
        stf=BinaryArray.from_numpy(np.hanning(192).astype(np.float32)), t0=-92.0, dt=1.0
    )
    origin = OriginMessage.from_origin(event.origin, truth=truth)
    bundle = BundleMessage.from_event(event, origin, DataContract(), 10.0, 12.0, {"low_snr": 1})
    assert bundle.revision == 5 and bundle.n_traces == 5 and bundle.n_pixels == 2
    back = BundleMessage.model_validate_json(bundle.model_dump_json()).to_event_data()
    assert back.origin == event.origin
    assert sorted(back.groups) == [12, 40]
    for p, group in event.groups.items():
        np.testing.assert_array_equal(back.groups[p].traces, group.traces)
        assert back.groups[p].station_id == group.station_id
        np.testing.assert_array_equal(back.groups[p].fields["polarity"], group.fields["polarity"])
    np.testing.assert_array_equal(back.truth_stf, np.hanning(192).astype(np.float32))
    assert back.truth_attrs["t0"] == -92.0


def test_bundle_with_inconsistent_counts_is_refused() -> None:
    payload = json.loads(
        BundleMessage.from_event(
            _event(), OriginMessage.from_origin(_event().origin), DataContract(), 1.0, 2.0
        ).model_dump_json()
    )
    payload["n_traces"] = 6
    with pytest.raises(ValidationError, match="n_traces 6 but pixels hold 5"):
        BundleMessage.model_validate(payload)


def test_dead_letter_keeps_position_and_truncates_payload() -> None:
    letter = DeadLetter.build(
        "ingest",
        "nan",
        "2 non-finite",
        "symae.waveforms.raw",
        1,
        42,
        "ev1",
        b"x" * 100,
        max_payload=10,
    )
    assert letter.where == "symae.waveforms.raw[1]@42"
    assert letter.payload_bytes() == b"x" * 10
    assert letter.payload_size == 100 and letter.payload_truncated


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_files_match_the_models(name: str) -> None:
    path = SCHEMAS_DIR / f"{name}.schema.json"
    assert path.is_file(), f"{path} missing: run python -m services.schemas"
    assert path.read_text() == schema_text(SCHEMAS[name]), (
        f"{path} is stale: run python -m services.schemas"
    )


def test_every_dead_letter_reason_in_the_code_is_in_the_schema_enum() -> None:
    import ast
    import re

    from services.schemas import DeadLetterReason
    from symae.data.reference import REPO_ROOT
    from symae.data.rejections import RejectReason

    assert {r.value for r in RejectReason} <= {r.value for r in DeadLetterReason}
    published = json.loads((SCHEMAS_DIR / "dead_letter.schema.json").read_text())
    assert published["$defs"]["DeadLetterReason"]["enum"] == [r.value for r in DeadLetterReason]
    used: set[str] = set()
    for path in sorted((REPO_ROOT / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in ("PoisonMessage", "dead_letter", "_reject") or not node.args:
                continue
            # PoisonMessage(reason, ...), x.dead_letter(msg, reason, ...), x._reject(msg, reason,
            # ...), dead_letter(service, msg, reason, ...)
            index = (
                0 if name == "PoisonMessage" else 1 if isinstance(node.func, ast.Attribute) else 2
            )
            reason = node.args[index]
            where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
            if isinstance(reason, ast.Constant):
                raise AssertionError(f"{where}: reason {reason.value!r} as a string literal")
            text = ast.unparse(reason)
            member = re.fullmatch(r"DeadLetterReason\.([A-Z_]+)", text)
            if member:
                used.add(DeadLetterReason[member.group(1)].value)
            else:  # passed on from a PoisonMessage or a Rejected, which are checked
                assert text in ("exc.reason", "reason", "DeadLetterReason(exc.reason.value)"), where
    assert used >= {"undecodable", "schema", "internal_error", "contract_mismatch", "late"}
    for reason in ("poison_region", "not_a_reason"):
        with pytest.raises(ValueError):
            PoisonMessage(reason)
