"""crop_or_none is the one answer to "does this spec crop?", for training, merge, engines and the predict loop."""

import pytest
from PIL import Image

from subtitle_vlm.crop import CropSpec, crop_image, crop_or_none, parse_crop
from subtitle_vlm.io import InputError


@pytest.mark.parametrize("spec", [None, "", "  ", "none", "NONE", "full", " Full ", CropSpec("none")])
def test_whole_frame_words(spec):
    assert crop_or_none(spec) is None
    im = Image.new("RGB", (40, 20))
    assert crop_image(im, spec).size == (40, 20)


@pytest.mark.parametrize("spec,spelled,size", [("bottom=0.5", "bottom=0.5", (40, 10)), ("BOTTOM=.5", "bottom=0.5", (40, 10)),
                                                (" box=0,0,0.5,0.5 ", "box=0,0,0.5,0.5", (20, 10)),
                                                ("auto", "auto", None), ("AUTO", "auto", None)])
def test_cropping_specs_come_back_in_one_spelling(spec, spelled, size):
    assert crop_or_none(spec) == spelled
    if size:
        assert crop_image(Image.new("RGB", (40, 20)), crop_or_none(spec)).size == size
    assert crop_or_none(parse_crop(spec)) == str(parse_crop(spec))


@pytest.mark.parametrize("bad", ["bottom", "bottom=0", "bottom=1.5", "box=0,0,1", "top=0.3", "nothing"])
def test_a_bad_spec_is_refused_when_resolved(bad):
    with pytest.raises(InputError, match="bad crop.*bottom=FRACTION"):
        crop_or_none(bad)
