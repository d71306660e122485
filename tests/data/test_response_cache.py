"""The evaluated-response cache: keyed by content, hit across documents, exact, bounded."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy
import pytest

from symae.data.preprocess import PreprocessConfig, preprocess_trace
from symae.data.response import (
    FILTERS,
    _FilterCache,
    _frequency_filter,
    fft_length,
    response_identity,
)
from symae.data.stations import channel_at

CONFIG = PreprocessConfig()


def parse(bfo_dir: Path, created: str | None = None) -> obspy.Inventory:
    """II.BFO parsed from its StationXML (a new object each time; ``created`` rewritten)."""
    inventory = obspy.read_inventory(str(bfo_dir / "II.BFO.xml"))
    if created is None:
        return inventory
    inventory.created = obspy.UTCDateTime(created)
    buf = io.BytesIO()
    inventory.write(buf, format="STATIONXML")
    return obspy.read_inventory(io.BytesIO(buf.getvalue()), format="STATIONXML")


def test_a_channel_described_again_hits_the_cache_and_gives_the_same_trace(
    bfo_dir, bfo_z, gulf_origin
) -> None:
    FILTERS.clear()
    first = preprocess_trace(bfo_z, parse(bfo_dir), gulf_origin, CONFIG)
    assert (FILTERS.hits, FILTERS.misses) == (0, 1)
    again = preprocess_trace(bfo_z, parse(bfo_dir, "2031-01-01"), gulf_origin, CONFIG)
    assert (FILTERS.hits, FILTERS.misses) == (1, 1)  # another document, same response
    np.testing.assert_array_equal(again.data, first.data)
    # the uncached path: every cache emptied, the filter evaluated again
    FILTERS.clear()
    fresh = preprocess_trace(bfo_z, parse(bfo_dir), gulf_origin, CONFIG)
    assert FILTERS.misses == 1
    np.testing.assert_array_equal(fresh.data, first.data)


def test_the_cached_filter_is_the_evaluated_one_bit_for_bit(bfo_dir, bfo_z) -> None:
    t = bfo_z.stats.starttime
    info = channel_at(parse(bfo_dir), bfo_z.id, t)
    again = channel_at(parse(bfo_dir), bfo_z.id, t)
    assert info.response is not again.response and info.response_key == again.response_key
    cache = _FilterCache()
    nfft = fft_length(12000)
    params = (CONFIG.pre_filt, CONFIG.water_level, 8.0, 0.01)
    cached = cache.get(info.response, 0.05, nfft, *params, key=info.response_key)
    hit = cache.get(again.response, 0.05, nfft, *params, key=again.response_key)
    assert (cache.hits, cache.misses) == (1, 1) and hit is cached
    direct = _frequency_filter(again.response, 0.05, nfft, *params)
    np.testing.assert_array_equal(hit, direct)
    # another FFT length is another entry
    cache.get(info.response, 0.05, fft_length(6000), *params, key=info.response_key)
    assert cache.misses == 2


def test_a_corrected_response_is_a_new_key(bfo_dir, bfo_z, gulf_origin) -> None:
    inventory = parse(bfo_dir)
    t = bfo_z.stats.starttime
    original = channel_at(parse(bfo_dir), bfo_z.id, t)
    channel = inventory.select(channel="BHZ", location="00")[0][0][0]
    channel.response.response_stages[0].stage_gain *= 2.0  # same SEED id and epoch
    corrected = channel_at(inventory, bfo_z.id, t)
    assert corrected.response_key != original.response_key
    assert response_identity(bfo_z.id, 0.0, 1.0, None) != original.response_key
    FILTERS.clear()
    preprocess_trace(bfo_z, parse(bfo_dir), gulf_origin, CONFIG)
    preprocess_trace(bfo_z, inventory, gulf_origin, CONFIG)
    assert (FILTERS.hits, FILTERS.misses) == (0, 2)


def test_the_cache_is_a_bounded_lru(bfo_dir, bfo_z) -> None:
    info = channel_at(parse(bfo_dir), bfo_z.id, bfo_z.stats.starttime)
    cache = _FilterCache(size=2)
    params = (CONFIG.pre_filt, CONFIG.water_level, 8.0, 0.01)
    for n in (1000, 2000, 1000, 3000):  # 1000 used again: 2000 is the oldest
        cache.get(info.response, 0.05, fft_length(n), *params, key=info.response_key)
    assert len(cache) == 2 and (cache.hits, cache.misses) == (1, 3)
    cache.get(info.response, 0.05, fft_length(1000), *params, key=info.response_key)
    assert cache.hits == 2  # kept
    cache.get(info.response, 0.05, fft_length(2000), *params, key=info.response_key)
    assert cache.misses == 4  # evicted


@pytest.mark.parametrize("with_key", [False, True])
def test_without_a_key_the_object_identity_is_used(bfo_dir, bfo_z, with_key) -> None:
    a = channel_at(parse(bfo_dir), bfo_z.id, bfo_z.stats.starttime)
    b = channel_at(parse(bfo_dir), bfo_z.id, bfo_z.stats.starttime)
    cache = _FilterCache()
    params = (CONFIG.pre_filt, CONFIG.water_level, 8.0, 0.01)
    for info in (a, b):
        key = info.response_key if with_key else None
        cache.get(info.response, 0.05, 4096, *params, key=key)
    assert cache.hits == (1 if with_key else 0)
