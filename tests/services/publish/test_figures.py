"""The product figure is rendered on its first request, kept, and always the current one."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import pytest

from services.publish import figures as figures_module
from services.publish.http import ProductServer
from services.publish.products import PRODUCT_FILES, write_products
from services.publish.store import LatestStore, result_bytes
from tests.services.publish.test_products import make_result, publish


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.headers["Content-Type"] == "image/png"
        return resp.read()


def test_publishing_renders_nothing_the_first_request_renders_once(tmp_path: Path) -> None:
    store = LatestStore(tmp_path)
    publish(store, make_result("ev", revision=1))
    png_path = store.folder("ev") / PRODUCT_FILES["figure"]
    assert not png_path.exists() and store.figures.rendered == 0
    server = ProductServer(store, port=0).start()
    url = f"http://127.0.0.1:{server.port}/events/ev/{PRODUCT_FILES['figure']}"
    try:
        bodies: list[bytes] = []
        threads = [threading.Thread(target=lambda: bodies.append(get(url))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(bodies) == 4 and len(set(bodies)) == 1 and bodies[0][:4] == b"\x89PNG"
        assert store.figures.rendered == 1 and png_path.read_bytes() == bodies[0]
        assert get(url) == bodies[0] and store.figures.rendered == 1  # kept
        # a newer revision replaces the figure: the next request shows it
        publish(store, make_result("ev", revision=2, centre=40.0))
        assert not png_path.exists()
        newer = get(url)
        assert newer != bodies[0] and store.figures.rendered == 2
    finally:
        server.stop()


def test_a_figure_of_a_result_replaced_while_rendering_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LatestStore(tmp_path)
    publish(store, make_result("ev", revision=1))
    folder = store.folder("ev")
    render = figures_module.figure_png

    def render_while_publishing(product):  # noqa: ANN001, ANN202
        newer = make_result("ev", revision=2, centre=40.0)
        write_products(newer.product(), result_bytes(newer), folder, store.figures.lock)
        return render(product)

    monkeypatch.setattr(figures_module, "figure_png", render_while_publishing)
    png = store.figures.png(folder)
    assert png is not None and png[:4] == b"\x89PNG"  # this request's answer
    assert not (folder / PRODUCT_FILES["figure"]).exists()  # but not kept: stale
    monkeypatch.setattr(figures_module, "figure_png", render)
    current = store.figures.png(folder)
    assert current != png and (folder / PRODUCT_FILES["figure"]).read_bytes() == current


def test_no_result_no_figure(tmp_path: Path) -> None:
    assert figures_module.Figures().png(tmp_path) is None
