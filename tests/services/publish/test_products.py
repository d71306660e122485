"""Publisher without Kafka: product files read back by ObsPy, the store's revision logic,
and the HTTP API over a real socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import obspy
import pytest

from services.publish.figures import Figures
from services.publish.http import ProductServer
from services.publish.products import (
    StfProduct,
    moment_rate,
    scalar_moment,
    write_products,
)
from services.publish.stf_message import SCHEMA_PATH, StfMessage, schema_text
from services.publish.store import Arrival, LatestStore, folder_name, result_bytes
from symae.extract.result import (
    EventQuality,
    ExtractionResult,
    ModelInfo,
    OriginInfo,
    PixelQuality,
    PixelResult,
    Stf,
    TraceScore,
    json_schema,
)

NT = 192
TIME = -92.0 + np.arange(NT, dtype=float)


def make_result(
    event_id: str = "ev 1/a", revision: int = 1, version: str = "1", centre: float = 10.0
) -> ExtractionResult:
    """A small but complete result: one Gaussian pulse at ``centre`` s, two pixels."""
    pulse = np.exp(-(((TIME - centre) / 4.0) ** 2))
    stf = Stf.from_arrays(pulse, 0.1 * pulse, dt=1.0, t0=float(TIME[0]))
    pixels = [
        PixelResult(
            pixel=p,
            azimuth_deg=30.0 * p,
            takeoff_deg=25.0,
            n_traces=3,
            stf=stf,
            quality=PixelQuality(
                envelope_std=0.1, passed=True, reconstruction_error=0.2, weight=0.5
            ),
        )
        for p in (7, 9)
    ]
    return ExtractionResult(
        event_id=event_id,
        revision=revision,
        origin=OriginInfo(
            time="2018-01-23T09:31:40.5Z",
            latitude=56.0,
            longitude=-149.2,
            depth_km=21.0,
            magnitude=7.9,
        ),
        model=ModelInfo(name="tiny", version=version, provider="CPUExecutionProvider"),
        stf=stf,
        pixels=pixels,
        traces=[TraceScore(id=f"XX.S{i}..BHZ", pixel=7, informativeness=0.1 * i) for i in range(3)],
        quality=EventQuality(
            n_traces=6,
            n_pixels=2,
            n_pixels_passed=2,
            reference_pixel=7,
            reconstruction_error=0.2,
            objective_start=1.0,
            objective_end=0.5,
        ),
    )


def publish(store: LatestStore, result: ExtractionResult) -> Arrival:
    """What the publish service does per message, without Kafka."""
    arrival = store.classify(result)
    if arrival.publishes:
        folder = store.folder(result.event_id)
        write_products(result.product(), result_bytes(result), folder, store.figures.lock)
        store.record(result, arrival)
    return arrival


def test_moment_rate_integrates_to_the_magnitude_moment() -> None:
    product = make_result().product()
    rate, m0 = moment_rate(product)
    assert m0 == pytest.approx(scalar_moment(7.9))
    assert np.sum(rate) * 1.0 == pytest.approx(m0, rel=1e-9)
    assert np.all(rate >= 0)


def test_scardec_text_reads_back_with_obspy(tmp_path: Path) -> None:
    result = make_result()
    paths = write_products(result.product(), result_bytes(result), tmp_path)
    lines = paths["scardec"].read_text().splitlines()
    assert lines[0].split()[:6] == ["2018", "01", "23", "09", "31", "40.5"]
    assert len(lines) == 2 + NT
    event = obspy.read_events(str(paths["scardec"]), format="SCARDEC")[0]
    tensor = event.focal_mechanisms[0].moment_tensor
    assert tensor.scalar_moment == pytest.approx(scalar_moment(7.9), rel=1e-3)
    extra = tensor.source_time_function.extra
    assert extra["offset"]["value"] == pytest.approx(TIME[0])
    # ObsPy divides the rate by M0: the peak sits where the pulse does
    normalised = np.asarray(extra["moment_rate"]["value"])
    assert TIME[int(np.argmax(normalised))] == pytest.approx(10.0)


def test_quakeml_carries_the_sampled_stf_in_extra(tmp_path: Path) -> None:
    result = make_result(revision=3)
    paths = write_products(result.product(), result_bytes(result), tmp_path)
    event = obspy.read_events(str(paths["quakeml"]))[0]
    assert event.preferred_origin().depth == pytest.approx(21000.0)
    assert event.preferred_magnitude().mag == pytest.approx(7.9)
    extra = event.focal_mechanisms[0].moment_tensor.source_time_function.extra
    rate = np.array([float(v) for v in extra["moment_rate"]["value"].split()])
    assert rate.size == NT
    assert float(extra["dt"]["value"]) == 1.0
    assert extra["model"]["value"] == "tiny:1"
    assert extra["revision"]["value"] == "3"
    assert TIME[int(np.argmax(rate))] == pytest.approx(10.0)
    assert json.loads(paths["result"].read_text())["revision"] == 3
    assert not paths["figure"].exists()  # made when first asked for
    png = Figures().png(tmp_path)
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["figure"].read_bytes() == png


def test_store_keeps_the_latest_revision_and_ignores_redeliveries(tmp_path: Path) -> None:
    store = LatestStore(tmp_path)
    assert publish(store, make_result(revision=1)) is Arrival.NEW
    assert publish(store, make_result(revision=2, centre=20.0)) is Arrival.NEWER
    assert publish(store, make_result(revision=1)) is Arrival.STALE
    assert publish(store, make_result(revision=2, centre=20.0)) is Arrival.DUPLICATE
    assert publish(store, make_result(revision=2, version="2", centre=20.0)) is Arrival.RECOMPUTED
    entry = store.get("ev 1/a")
    assert (entry.revision, entry.model_version) == (2, "2")
    # a restarted publisher finds the same state on disk
    reloaded = LatestStore(tmp_path).get("ev 1/a")
    assert replace(reloaded, updated="") == replace(entry, updated="")


def test_folder_names_are_safe_and_distinct() -> None:
    assert folder_name("us7000abcd") == "us7000abcd"
    unsafe = [folder_name(i) for i in ("a/b", "a_b", "a:b", "..")]
    assert all("/" not in f and f not in (".", "..") for f in unsafe)
    assert len(set(unsafe)) == len(unsafe)


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def test_http_api_serves_events_results_files_and_page(tmp_path: Path) -> None:
    store = LatestStore(tmp_path)
    publish(store, make_result("ev 1/a", revision=1))
    publish(store, make_result("ev 1/a", revision=2, centre=30.0))
    publish(store, make_result("us7000b", revision=1))
    server = ProductServer(store, port=0, host="127.0.0.1").start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        status, ctype, body = _get(f"{base}/events")
        assert (status, ctype) == (200, "application/json")
        listing = {e["event_id"]: e for e in json.loads(body)}
        assert {k: v["revision"] for k, v in listing.items()} == {"ev 1/a": 2, "us7000b": 1}

        quoted = urllib.request.quote("ev 1/a", safe="")
        status, _, body = _get(f"{base}/events/{quoted}")
        assert status == 200
        served = json.loads(body)
        jsonschema.validate(served, json_schema())
        assert served["revision"] == 2
        assert TIME[int(np.argmax(served["stf"]["values"]))] == pytest.approx(30.0)

        for url in listing["ev 1/a"]["products"].values():
            status, ctype, body = _get(base + url)
            assert status == 200 and body, url
        status, ctype, body = _get(base + listing["us7000b"]["products"]["figure"])
        assert ctype == "image/png" and body[:4] == b"\x89PNG"

        status, ctype, body = _get(f"{base}/")
        page = body.decode()
        assert ctype.startswith("text/html")
        assert "us7000b" in page and "ev 1/a" in page and page.count("<img ") == 2

        assert _get(f"{base}/events/nope")[0] == 404
        assert _get(f"{base}/events/us7000b/secret.txt")[0] == 404
        assert _get(f"{base}/events/us7000b/..%2F..%2Fetc")[0] == 404
    finally:
        server.stop()


def test_product_rejects_mismatched_axes() -> None:
    with pytest.raises(ValueError, match="must be equal 1-D shapes"):
        StfProduct(
            "e",
            0,
            "m",
            "1",
            "2020-01-01T00:00:00Z",
            0,
            0,
            10,
            None,
            TIME,
            np.zeros(NT - 1),
            np.zeros(NT - 1),
            np.zeros(NT - 1),
        )


def test_public_stf_message_and_its_published_schema() -> None:
    result = make_result("us7000b", revision=4)
    message = StfMessage.from_result(result, "/events/us7000b")
    assert message.scalar_moment_nm == pytest.approx(scalar_moment(7.9))
    assert (message.revision, message.model.version) == (4, "1")
    assert message.stf == result.stf
    jsonschema.validate(json.loads(message.model_dump_json()), json.loads(SCHEMA_PATH.read_text()))
    assert SCHEMA_PATH.read_text() == schema_text(), "run python -m services.publish.stf_message"


def test_products_of_an_inversion_result_whose_axis_differs_from_the_pixels(tmp_path) -> None:
    """The published STF (the inversion's, from 0 s) and the pixels' envelopes (the model
    window, from -92 s) have different time axes: every product is still written."""
    result = make_result()
    short = np.exp(-(((np.arange(40.0) - 12.0) / 4.0) ** 2))
    inversion = Stf.from_band(short, short, short, dt=1.0, t0=0.0, method="inversion")
    apparent = Stf.from_band(short, short, short, dt=1.0, t0=0.0, method="inversion")
    result = result.model_copy(
        update={
            "stf": inversion,
            "alternatives": {"envelope": result.stf},
            "pixels": [
                result.pixels[0].model_copy(update={"apparent_stf": apparent}),
                result.pixels[1],
            ],
        }
    )
    product = result.product()
    assert product.method == "inversion" and len(product.time) == 40
    times = {p: len(t) for p, (t, _) in product.pixel_stfs.items()}
    assert times == {7: 40, 9: len(TIME)}  # an apparent STF where there is one
    paths = write_products(product, result_bytes(result), tmp_path)
    assert Figures().png(tmp_path) is not None  # the figure, made on request
    assert all(path.stat().st_size > 0 for path in paths.values())
