"""``bench dashboard`` measures the page it claims to: the tree painted, value cells updated with a lag that is a
plausible wall-clock difference, the bare reader fed (quick sizes, the real gateway and Debian's Chromium)."""

from __future__ import annotations

import math

import pytest

from bench._dashboard_browser import INSTALL_LINE, chromium_path
from bench.dashboard import QUICK, run

pytestmark = pytest.mark.integration


def test_quick_run_measures_tree_and_live_cells() -> None:
    if chromium_path() is None:
        pytest.skip(f"the dashboard bench needs Chromium: {INSTALL_LINE}")
    r = run(QUICK)
    assert len(r.loads) == QUICK.loads
    for load in r.loads:
        assert 0 < load.inserted <= load.painted < 30_000, load
        assert load.nodes > 0 and any(a["path"].startswith("/assets") for a in load.api), load
    assert r.live.cells == QUICK.plant.hot_points  # every value cell carries data-source-time
    assert r.live_meter.produced > 0 and len(r.live.dash) >= 0.3 * r.live_meter.produced, (
        len(r.live.dash),
        r.live_meter.produced,
    )
    # each lag is after-paint time minus the value's source time: positive, finite, well under the window
    assert all(math.isfinite(x) and -5 < x < 10_000 for x in r.live.dash)
    assert r.live.base and r.bare.base and all(-5 < x < 10_000 for x in r.bare.base)
    assert r.live_meter.gateway > 0 and r.live_meter.browser > 0
