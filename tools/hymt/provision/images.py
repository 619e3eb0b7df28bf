"""The images role's decisions: what `docker image inspect` (community.docker.docker_image_info) says, boiled down:
which images are stand-ins, which the host lacks, what an offline bundle records."""

from __future__ import annotations

STANDIN_LABEL = "org.hymt.standin"
STANDIN_FOR_LABEL = "org.hymt.standin.for"
# This project's own images: no registry serves them, they are built from its Dockerfiles.
OWN_PREFIX = "hymt/"


def standins(images: list[dict]) -> list[str]:
    """The references (first tag, else id) of the inspected images labelled as stand-ins (or built on one: the label
    carries over from a base image)."""
    return [_reference(image) for image in images or [] if _labels(image).get(STANDIN_LABEL, "").lower() == "true"]


def standin_advice(images: list[dict]) -> str:
    """What to do about each stand-in among the inspected images, in one paragraph ("" when there is none)."""
    said = []
    for image in images or []:
        labels = _labels(image)
        if labels.get(STANDIN_LABEL, "").lower() != "true":
            continue
        reference, real = _reference(image), labels.get(STANDIN_FOR_LABEL) or "the official image"
        if reference.startswith(OWN_PREFIX):
            said.append(
                f"{reference} was built on a stand-in of {real}: pull the real one where you build "
                f"(docker image rm {real} && docker pull {real}) and build {reference} again (make web-image)"
            )
        else:
            said.append(
                f"{reference} is a stand-in of {real}: remove it (docker image rm {reference}) so the real "
                "one is pulled"
            )
    return "; ".join(said)


def _labels(image: dict) -> dict[str, str]:
    return {key: str(value) for key, value in ((image.get("Config") or {}).get("Labels") or {}).items()}


def _reference(image: dict) -> str:
    return (image.get("RepoTags") or [image.get("Id", "?")])[0]


def build_advice(missing: list[str]) -> str:
    """How to get this project's images onto the control machine: the make targets that build them (the web image,
    the CPU vLLM image) or, for the stand-ins of official images, `make standins`."""
    targets = []
    for reference in missing:
        name = reference.split(":", 1)[0]
        target = {OWN_PREFIX + "web": "make web-image", OWN_PREFIX + "vllm-cpu": "make vllm-cpu-image"}.get(name)
        targets.append(target or "make standins")
    return ", ".join(dict.fromkeys(targets))


def ids_by_reference(images: list[dict], references: list[str]) -> dict[str, str]:
    """reference -> image id, for each of `references` the inspected images carry as a tag (missing ones: absent)."""
    wanted = set(references)
    ids = {}
    for image in images or []:
        for tag in image.get("RepoTags") or []:
            if tag in wanted:
                ids[tag] = image.get("Id", "")
    return ids


def to_ship(source_ids: dict[str, str], host_ids: dict[str, str]) -> list[dict]:
    """The images whose id on the host differs from the source's (reference -> id): [{reference, id, file}], where
    file is the archive's name."""
    return [
        {"reference": reference, "id": image_id, "file": archive_name(image_id)}
        for reference, image_id in sorted(source_ids.items())
        if host_ids.get(reference) != image_id
    ]


def bundle_entries(images: list[dict], references: list[str]) -> dict[str, dict]:
    """What an offline bundle records of each image: reference -> {id, file, standin}."""
    labelled = set(standins(images))
    return {
        reference: {"id": image_id, "file": "images/" + archive_name(image_id), "standin": reference in labelled}
        for reference, image_id in ids_by_reference(images, references).items()
    }


def archive_name(image_id: str) -> str:
    """The file an image is exported to, named by its id so that a changed image is never mistaken for the old one."""
    return image_id.removeprefix("sha256:")[:32] + ".tar"
