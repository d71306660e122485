"""A broadband seismometer for the synthetic records, and ground motion -> counts.

The response is an STS-2-like velocity sensor (120 s corner, two zeros at the origin,
three high-frequency poles, 1500 V/(m/s)) behind a digitiser of 4e5 counts/V, written
as one poles-and-zeros stage and one gain stage so StationXML readers and ObsPy's
response removal treat it like a real channel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from obspy import UTCDateTime
from obspy.core.inventory import Channel, Inventory, Network, Response, Site, Station
from obspy.core.inventory.response import CoefficientsTypeResponseStage, InstrumentSensitivity

SENSOR_GAIN = 1500.0  # V / (m/s)
DIGITISER_GAIN = 4.0e5  # counts / V
POLES = [-0.037 + 0.037j, -0.037 - 0.037j, -251.3 + 0j, -131.0 + 467.3j, -131.0 - 467.3j]
ZEROS = [0j, 0j]
NORMALISATION_HZ = 1.0
EPOCH_START = UTCDateTime(1970, 1, 1)


def broadband_response() -> Response:
    """Velocity response in counts/(m/s), flat from about 1/120 Hz to 10 Hz."""
    s = 2j * np.pi * NORMALISATION_HZ
    a0 = 1.0 / abs(np.prod([s - z for z in ZEROS]) / np.prod([s - p for p in POLES]))
    response = Response.from_paz(
        zeros=ZEROS,
        poles=POLES,
        stage_gain=SENSOR_GAIN,
        stage_gain_frequency=NORMALISATION_HZ,
        input_units="M/S",
        output_units="V",
        normalization_frequency=NORMALISATION_HZ,
        normalization_factor=float(a0),
    )
    response.response_stages.append(
        CoefficientsTypeResponseStage(
            stage_sequence_number=2,
            stage_gain=DIGITISER_GAIN,
            stage_gain_frequency=NORMALISATION_HZ,
            input_units="V",
            output_units="COUNTS",
            cf_transfer_function_type="DIGITAL",
            numerator=[1.0],
            denominator=[],
            decimation_input_sample_rate=20.0,
            decimation_factor=1,
            decimation_offset=0,
            decimation_delay=0.0,
            decimation_correction=0.0,
        )
    )
    response.instrument_sensitivity = InstrumentSensitivity(
        value=SENSOR_GAIN * DIGITISER_GAIN,
        frequency=NORMALISATION_HZ,
        input_units="M/S",
        output_units="COUNTS",
    )
    return response


@lru_cache(maxsize=8)
def _velocity_spectrum(nfft: int, dt: float) -> np.ndarray:
    freqs = np.fft.rfftfreq(nfft, dt)
    resp = broadband_response().get_evalresp_response_for_frequencies(freqs, output="VEL")
    return np.asarray(resp, dtype=np.complex128)


def displacement_to_counts(spectrum: np.ndarray, nfft: int, dt: float, npts: int) -> np.ndarray:
    """Counts (int32) recorded for a displacement with rfft ``spectrum`` (length nfft)."""
    freqs = np.fft.rfftfreq(nfft, dt)
    velocity = spectrum * (2j * np.pi * freqs)
    counts = np.fft.irfft(velocity * _velocity_spectrum(nfft, dt), nfft)[:npts]
    return np.round(counts).astype(np.int32)


def inventory_for(
    networks: list[str],
    stations: list[str],
    latitudes: list[float],
    longitudes: list[float],
    sampling_rate: float,
    channel: str = "BHZ",
    location: str = "00",
) -> Inventory:
    """StationXML inventory of vertical broadband channels at the given stations."""
    response = broadband_response()
    by_net: dict[str, Network] = {}
    for net, sta, lat, lon in zip(networks, stations, latitudes, longitudes, strict=True):
        cha = Channel(
            code=channel,
            location_code=location,
            latitude=lat,
            longitude=lon,
            elevation=0.0,
            depth=0.0,
            azimuth=0.0,
            dip=-90.0,
            sample_rate=sampling_rate,
            response=response,
            start_date=EPOCH_START,
        )
        station = Station(
            code=sta,
            latitude=lat,
            longitude=lon,
            elevation=0.0,
            channels=[cha],
            start_date=EPOCH_START,
            site=Site(name=f"synthetic {net}.{sta}"),
        )
        by_net.setdefault(net, Network(code=net, stations=[], start_date=EPOCH_START))
        by_net[net].stations.append(station)
    return Inventory(networks=[by_net[k] for k in sorted(by_net)], source="symae synthetic")
