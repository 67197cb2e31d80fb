"""The watched region keeps the subtitle's rows and leaves out text the selector turned down."""

from subtitle_vlm.engines.ppocr.detection import Selection
from subtitle_vlm.video.region import subtitle_region

W, H = 1280, 720


def sel(box, others=()):
    return Selection("字" if box else "", box, [], [], list(others))


def test_region_pads_the_subtitle_rows_across_the_width():
    r = subtitle_region([sel((400, 600, 880, 650)), sel((300, 590, 980, 648)), sel(None)], W, H)
    assert r == (0, 590 - 29, W, 650 + 29)  # half the tallest line (58 px) above and below


def test_region_stops_above_a_ticker_and_below_a_headline():
    ticker = ((0, 662, W, 700), "快訊 颱風明天登陸")
    headline = ((200, 520, 1100, 565), "獨家報導")
    r = subtitle_region([sel((400, 580, 880, 640), [ticker, headline]), sel((420, 582, 860, 638), [ticker])], W, H)
    assert r[3] == 662 and r[1] == 565  # neither the ticker's rows nor the headline's
    assert r[1] <= 580 and r[3] >= 640  # the subtitle's own rows stay


def test_region_leaves_out_a_tag_beside_the_subtitle_and_ignores_far_text():
    tag = ((20, 590, 300, 640), "記者 王小明")
    logo = ((1100, 20, 1250, 60), "新聞台")
    r = subtitle_region([sel((420, 585, 860, 640), [tag, logo])], W, H)
    assert r[0] == 300 and r[2] == W


def test_no_subtitle_no_region():
    assert subtitle_region([sel(None), sel(None, [((0, 660, W, 700), "快訊")])], W, H) is None
