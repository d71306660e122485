"""``symae data synth`` end to end, and its raw files back through ``symae data build``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from obspy import read, read_events, read_inventory

from symae.cli import main
from symae.data.dataset import Dataset


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    rc = main(
        [
            "data",
            "synth",
            "--stf",
            "parametric",
            "--events",
            "2",
            "--stations",
            "25",
            "--seed",
            "4",
            "--depth",
            "120",
            "130",
            "--mw",
            "6.5",
            "7.5",
            "--out",
            str(out / "direct.h5"),
            "--mseed-dir",
            str(out / "raw"),
        ]
    )
    assert rc == 0
    return out


def test_synth_writes_events_with_truth(synth_run: Path) -> None:
    with Dataset(synth_run / "direct.h5") as ds:
        ids = ds.event_ids()
        assert ids == ["synth_s4_0000", "synth_s4_0001"]
        for event_id in ids:
            ev = ds.event(event_id)
            assert ev.truth_stf is not None and ev.truth_stf.shape == (ds.contract.nt,)
            assert ev.truth_attrs["source_kind"] == "parametric"
            assert 6.5 <= ev.truth_attrs["mw"] <= 7.5
            assert 120 <= ev.origin.depth_km <= 130
            assert ev.n_traces == 25
            for g in ev.groups.values():
                assert {"time_error_s", "t_star_s", "amp_p", "delay_pp_s"} <= set(g.truth)
                assert np.all((g.truth["t_star_s"] >= 0.3) & (g.truth["t_star_s"] <= 1.5))
                assert np.all((g.fields["distance_deg"] >= 30) & (g.fields["distance_deg"] <= 90))


def test_raw_files_are_real_looking(synth_run: Path) -> None:
    raw = synth_run / "raw"
    st = read(str(raw / "waveforms" / "synth_s4_0000.mseed"))
    assert len(st) == 25
    tr = st[0]
    assert tr.stats.sampling_rate == 20.0 and tr.stats.npts == 12000
    assert tr.data.dtype == np.int32 and tr.stats.channel == "BHZ"
    inv = read_inventory(str(raw / "stations.xml"))
    resp = inv.get_response(tr.id, tr.stats.starttime)
    assert resp.instrument_sensitivity.input_units == "M/S"
    catalog = read_events(str(raw / "events.xml"))
    assert [str(e.resource_id).rsplit("/", 1)[-1] for e in catalog] == [
        "synth_s4_0000",
        "synth_s4_0001",
    ]
    assert catalog[0].focal_mechanisms[0].moment_tensor.tensor.m_rr is not None


def test_data_build_reproduces_direct_traces(synth_run: Path) -> None:
    raw = synth_run / "raw"
    rc = main(
        [
            "data",
            "build",
            "--waveforms",
            str(raw / "waveforms"),
            "--inventory",
            str(raw / "stations.xml"),
            "--events",
            str(raw / "events.xml"),
            "--out",
            str(synth_run / "built.h5"),
        ]
    )
    assert rc == 0
    with Dataset(synth_run / "direct.h5") as direct, Dataset(synth_run / "built.h5") as built:
        assert built.event_ids() == direct.event_ids()
        for event_id in direct.event_ids():
            a, b = direct.event(event_id), built.event(event_id)
            ta, tb = _by_station(a), _by_station(b)
            assert ta.keys() == tb.keys()
            flips = 0
            for station, (pixel, trace, polarity) in ta.items():
                assert tb[station][0] == pixel, station
                # compare as recorded: the event-level polarity correction is undone
                corr = np.corrcoef(trace * polarity, tb[station][1] * tb[station][2])[0, 1]
                assert corr > 0.99, (station, corr)
                flips += polarity != tb[station][2]
            # the correction itself may only disagree on traces it finds ambiguous
            assert flips <= 0.1 * len(ta), flips


def _by_station(event) -> dict[str, tuple[int, np.ndarray, int]]:
    return {
        s: (g.pixel, x, int(p))
        for g in event.groups.values()
        for s, x, p in zip(g.station_id, g.traces, g.fields["polarity"], strict=True)
    }


def test_figures_are_publication_sized(synth_run: Path, capsys) -> None:
    import matplotlib.image as mpimg

    out = synth_run / "figures"
    assert main(["data", "figures", str(synth_run / "direct.h5"), "--out", str(out)]) == 0
    section = out / "record_section_synth_s4_0000.png"
    occupancy = out / "pixel_occupancy.png"
    for png in (section, occupancy):
        assert mpimg.imread(png).shape[:2] == (450, 950)
    # a coloured record section, not a blank canvas
    assert np.std(mpimg.imread(section)[..., :3]) > 0.05
    assert (
        main(
            [
                "data",
                "figures",
                str(synth_run / "direct.h5"),
                "--out",
                str(out),
                "--event-id",
                "nope",
            ]
        )
        == 2
    )
    assert "no event 'nope'" in capsys.readouterr().err


def test_bad_arguments_fail_clearly_without_a_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "never.h5"
    with pytest.raises(SystemExit) as exc:  # an argument error: the parser's one line, exit 2
        main(["data", "synth", "--stf", "scardec", "--events", "0", "--out", str(out)])
    assert exc.value.code == 2
    assert "--events: must be >= 1, got '0'" in capsys.readouterr().err
    assert (
        main(
            [
                "data",
                "synth",
                "--stf",
                "scardec",
                "--scardec-dir",
                str(tmp_path / "nowhere"),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "SCARDEC folder not found" in capsys.readouterr().err
    assert main(["data", "synth", "--snr", "0.5", "3", "--out", str(out)]) == 2
    assert "snr_range must satisfy 1 < low <= high, got (0.5, 3.0)" in capsys.readouterr().err
    assert not out.exists()
