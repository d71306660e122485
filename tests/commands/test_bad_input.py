"""Every command on bad input: one line on stderr, ``symae <command>: ...``, exit 2, no
traceback, no output left behind."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from symae.cli import main
from symae.data.reference import REPO_ROOT

QUAKEML = (
    '<?xml version="1.0"?><q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" '
    'xmlns:q="http://quakeml.org/xmlns/quakeml/1.2"><eventParameters publicID="smi:x">'
    "</eventParameters></q:quakeml>"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Real records of a small synthetic event, plus broken files."""
    from symae.synth.config import SynthConfig
    from symae.synth.generator import synthesize_event
    from symae.synth.source import parametric_source

    root = tmp_path_factory.mktemp("bad-input")
    rng = np.random.default_rng(3)
    config = SynthConfig(
        n_stations=12, directivity=False, mw_range=(7.0, 7.2), depth_range_km=(20.0, 50.0)
    )
    source = parametric_source(
        rng,
        "bad3",
        config.mw_range,
        config.depth_range_km,
        config.raw_dt,
        False,
        datetime(2020, 1, 1, tzinfo=UTC),
    )
    event = synthesize_event(rng, source, config)
    paths = {
        "mseed": root / "records.mseed",
        "one": root / "one.mseed",
        "xml": root / "stations.xml",
        "qml": root / "event.xml",
        "empty": root / "empty.mseed",
        "corrupt": root / "corrupt.mseed",
        "qml_empty": root / "other.xml",
    }
    event.stream.write(str(paths["mseed"]), format="MSEED")
    event.stream[:1].write(str(paths["one"]), format="MSEED")
    event.inventory.write(str(paths["xml"]), format="STATIONXML")
    event.event.write(str(paths["qml"]), format="QUAKEML")
    paths["empty"].write_bytes(b"")
    paths["corrupt"].write_bytes(np.random.default_rng(0).bytes(4096))
    paths["qml_empty"].write_text(QUAKEML)
    synth = root / "synth"  # the layout 'symae data synth --mseed-dir' writes
    (synth / "waveforms").mkdir(parents=True)
    event.stream.write(
        str(synth / "waveforms" / f"{event.event_data.event_id}.mseed"), format="MSEED"
    )
    event.inventory.write(str(synth / "stations.xml"), format="STATIONXML")
    event.event.write(str(synth / "events.xml"), format="QUAKEML")
    paths["synth"] = synth
    paths["root"] = root
    return paths


def check(
    capsys, argv: list[str], prefix: str, *, left: Path | None = None, needle: str | None = None
) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert lines[0].startswith(f"symae {prefix}: "), err
    assert "Traceback" not in err
    if needle is not None:
        assert needle in lines[0], err
    if left is not None:
        assert not left.exists(), f"{left} left behind"
        assert not list(left.parent.glob(left.name + "*")), "partial output left behind"
    return lines[0]


def run_exit(capsys, argv: list[str], prefix: str, needle: str | None = None) -> str:
    """Argument errors end in SystemExit(2) from the parser."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"symae {prefix}: "), err
    if needle is not None:
        assert needle in lines[0], err
    return lines[0]


def extract_args(files, out: Path, **over: str) -> list[str]:
    args = {
        "--waveforms": str(files["mseed"]),
        "--inventory": str(files["xml"]),
        "--event": str(files["qml"]),
    }
    args.update(over)
    argv = ["extract"]
    for k, v in args.items():
        argv += [k, v]
    return argv + ["--out", str(out), "--steps", "1"]


# ------------------------------------------------------------------ symae extract
@pytest.mark.parametrize("which", ["empty", "corrupt"])
def test_extract_unreadable_miniseed(files, tmp_path, capsys, which) -> None:
    out = tmp_path / "RESULT.json"
    check(
        capsys,
        extract_args(files, out, **{"--waveforms": str(files[which])}),
        "extract",
        left=out,
        needle=str(files[which]),
    )


def test_extract_quakeml_as_inventory(files, tmp_path, capsys) -> None:
    out = tmp_path / "RESULT.json"
    check(
        capsys,
        extract_args(files, out, **{"--inventory": str(files["qml"])}),
        "extract",
        left=out,
        needle="StationXML",
    )


def test_extract_stationxml_as_event(files, tmp_path, capsys) -> None:
    out = tmp_path / "RESULT.json"
    check(capsys, extract_args(files, out, **{"--event": str(files["xml"])}), "extract", left=out)


def test_extract_one_station_event_is_refused(files, tmp_path, capsys) -> None:
    out = tmp_path / "RESULT.json"
    line = check(
        capsys, extract_args(files, out, **{"--waveforms": str(files["one"])}), "extract", left=out
    )
    assert (
        "1 trace(s) in 1 pixel(s)" in line
        and "10 traces in 3 pixels" in line
        and "--allow-sparse" in line
    )


@pytest.mark.parametrize("option", ["--waveforms", "--inventory", "--event"])
def test_extract_missing_file(files, tmp_path, capsys, option) -> None:
    out = tmp_path / "RESULT.json"
    run_exit(
        capsys,
        extract_args(files, out, **{option: str(tmp_path / "nope")}),
        "extract",
        needle="nope",
    )
    assert not out.exists()


def test_extract_missing_dataset(tmp_path, capsys) -> None:
    run_exit(
        capsys,
        ["extract", "--dataset", "/nope.h5", "--event-id", "x", "--out", str(tmp_path / "r.json")],
        "extract",
        needle="/nope.h5",
    )


@pytest.mark.parametrize(
    "option,value",
    [
        ("--lr", "nan"),
        ("--lr", "-1"),
        ("--steps", "-3"),
        ("--n-codes", "0"),
        ("--alpha", "inf"),
        ("--steps", "many"),
        ("--min-traces", "0"),
    ],
)
def test_extract_nonsense_numbers(files, tmp_path, capsys, option, value) -> None:
    run_exit(
        capsys,
        extract_args(files, tmp_path / "r.json", **{option: value}),
        "extract",
        needle=option,
    )


def test_extract_needs_one_source(files, tmp_path, capsys) -> None:
    check(
        capsys,
        ["extract", "--waveforms", str(files["mseed"]), "--out", str(tmp_path / "r.json")],
        "extract",
        needle="missing --inventory, --event",
    )


# ------------------------------------------------------------------ symae train / evaluate
def test_train_missing_data(tmp_path, capsys) -> None:
    out = tmp_path / "model"
    run_exit(capsys, ["train", "--data", "/nope.h5", "--out", str(out)], "train", needle="/nope.h5")
    assert not out.exists()


def test_train_unknown_config(files, tmp_path, capsys) -> None:
    data = tmp_path / "d.h5"
    data.write_bytes(b"")
    out = tmp_path / "model"
    line = check(
        capsys,
        ["train", "--config", "nosuch", "--data", str(data), "--out", str(out)],
        "train",
        left=out,
        needle="nosuch",
    )
    assert "tiny" in line and "default" in line


@pytest.mark.parametrize("option,value", [("--max-epochs", "0"), ("--threads", "-2")])
def test_train_nonsense_numbers(tmp_path, capsys, option, value) -> None:
    data = tmp_path / "d.h5"
    data.write_bytes(b"")
    run_exit(
        capsys,
        ["train", "--data", str(data), "--out", str(tmp_path / "m"), option, value],
        "train",
        needle=option,
    )


@pytest.mark.parametrize(
    "option,value",
    [
        ("--limit", "0"),
        ("--lr", "nan"),
        ("--steps", "-1"),
        ("--stations", "0"),
        ("--batch", "0"),
        ("--alpha", "-0.5"),
    ],
)
def test_evaluate_nonsense_numbers(tmp_path, capsys, option, value) -> None:
    out = tmp_path / "bench"
    run_exit(capsys, ["evaluate", "--out", str(out), option, value], "evaluate", needle=option)
    assert not out.exists()


def test_evaluate_missing_dataset(tmp_path, capsys) -> None:
    run_exit(
        capsys,
        ["evaluate", "--dataset", str(tmp_path / "nope.h5"), "--out", str(tmp_path / "b")],
        "evaluate",
        needle="nope.h5",
    )


def test_evaluate_reversed_snr(tmp_path, capsys) -> None:
    out = tmp_path / "bench"
    check(
        capsys,
        ["evaluate", "--out", str(out), "--snr", "30", "3", "--model", "default"],
        "evaluate",
        left=out,
        needle="--snr",
    )


# ------------------------------------------------------------------ data and bench commands
@pytest.mark.parametrize(
    "option,value",
    [("--events", "0"), ("--stations", "-5"), ("--snr", "nan"), ("--time-error", "-1")],
)
def test_data_synth_nonsense_numbers(tmp_path, capsys, option, value) -> None:
    out = tmp_path / "s.h5"
    argv = ["data", "synth", "--out", str(out), option, value] + (
        ["3"] if option == "--snr" else []
    )
    run_exit(capsys, argv, "data synth", needle=option)
    assert not out.exists()


@pytest.mark.parametrize("option,value", [("--steps", "-1"), ("--traces", "0"), ("--threads", "x")])
def test_bench_extract_nonsense_numbers(capsys, option, value) -> None:
    run_exit(
        capsys, ["bench", "extract", "--no-record", option, value], "bench extract", needle=option
    )


def test_unknown_command(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["nosuch"])
    err = capsys.readouterr().err.splitlines()
    assert exc.value.code == 2 and len(err) == 1 and err[0].startswith("symae: ")


# ------------------------------------------------------------------ symae replay
def test_replay_reads_the_data_synth_layout(files) -> None:
    from services.devtools.replay import directory_events, folder_layout

    assert folder_layout(files["synth"]) == "synth"
    events = list(directory_events(files["synth"]))
    assert len(events) == 1 and len(events[0].records) == 12


def test_replay_folder_in_neither_layout(tmp_path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    check(
        capsys,
        ["replay", "--from-dir", str(tmp_path), "--bootstrap-servers", "127.0.0.1:1"],
        "replay",
        needle="neither",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--synthetic", "0"],
        ["--synthetic", "1", "--speed", "0"],
        ["--synthetic", "1", "--stations", "nan"],
    ],
)
def test_replay_nonsense_numbers(capsys, argv) -> None:
    run_exit(capsys, ["replay", *argv], "replay")


def test_replay_unreachable_broker_gives_up(tmp_path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manifest = tmp_path / "manifest.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "symae.cli",
            "replay",
            "--synthetic",
            "1",
            "--bootstrap-servers",
            f"127.0.0.1:{port}",
            "--kafka-startup-timeout-s",
            "1",
            "--log-level",
            "ERROR",
            "--metrics-port",
            "0",
            "--manifest",
            str(manifest),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = run.stderr.splitlines()
    assert run.returncode == 2, run.stderr
    assert (
        len(lines) == 1 and lines[0].startswith("symae replay: ") and "unreachable" in lines[0]
    ), run.stderr
    assert not manifest.exists()


@pytest.mark.parametrize(
    "break_event,needle",
    [
        ("magnitude", "origin.magnitude is missing"),
        ("depth", "depth, got"),
        ("moment_tensor", "origin.moment_tensor is partly specified"),
    ],
)
def test_extract_event_the_inversion_cannot_use(
    files, tmp_path, capsys, break_event, needle
) -> None:
    """A QuakeML without depth or magnitude, or with a partly given moment tensor: one
    line naming the field, nothing written."""
    import obspy

    catalog = obspy.read_events(str(files["qml"]))
    event = catalog[0]
    if break_event == "magnitude":
        event.magnitudes = []
        event.preferred_magnitude_id = None
    elif break_event == "depth":
        for origin in event.origins:
            origin.depth = None
    else:
        tensor = event.focal_mechanisms[0].moment_tensor.tensor
        tensor.m_rt = None
    qml = tmp_path / "event.xml"
    catalog.write(str(qml), format="QUAKEML")
    out = tmp_path / "RESULT.json"
    line = check(capsys, extract_args(files, out, **{"--event": str(qml)}), "extract", left=out)
    assert needle in line, line


@pytest.mark.parametrize("option,value", [("--records", "0"), ("--repeats", "x")])
def test_bench_services_nonsense_numbers(capsys, option, value) -> None:
    run_exit(
        capsys, ["bench", "services", "--no-record", option, value], "bench services", needle=option
    )
