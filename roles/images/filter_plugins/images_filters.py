"""Filters of the images role: what `docker image inspect` (community.docker.docker_image_info) says, boiled down."""

from __future__ import annotations

STANDIN_LABEL = "org.hymt.standin"


def images_standins(images: list[dict]) -> list[str]:
    """The references (first tag, else id) of the inspected images labelled as stand-ins."""
    found = []
    for image in images or []:
        labels = (image.get("Config") or {}).get("Labels") or {}
        if str(labels.get(STANDIN_LABEL, "")).lower() == "true":
            found.append((image.get("RepoTags") or [image.get("Id", "?")])[0])
    return found


def images_ids_by_reference(images: list[dict], references: list[str]) -> dict[str, str]:
    """reference -> image id, for each of `references` the inspected images carry as a tag (missing ones: absent)."""
    wanted = set(references)
    ids = {}
    for image in images or []:
        for tag in image.get("RepoTags") or []:
            if tag in wanted:
                ids[tag] = image.get("Id", "")
    return ids


def images_to_ship(source_ids: dict[str, str], host_ids: dict[str, str]) -> list[dict]:
    """The images whose id on the host differs from the source's (reference -> id): [{reference, id, file}], where
    file is the archive's name."""
    return [
        {"reference": reference, "id": image_id, "file": archive_name(image_id)}
        for reference, image_id in sorted(source_ids.items())
        if host_ids.get(reference) != image_id
    ]


def images_bundle_entries(images: list[dict], references: list[str]) -> dict[str, dict]:
    """What an offline bundle records of each image: reference -> {id, file, standin}."""
    entries = {}
    standins = set(images_standins(images))
    for reference, image_id in images_ids_by_reference(images, references).items():
        entries[reference] = {"id": image_id, "file": "images/" + archive_name(image_id), "standin": reference in standins}
    return entries


def archive_name(image_id: str) -> str:
    """The file an image is exported to, named by its id so that a changed image is never mistaken for the old one."""
    return image_id.removeprefix("sha256:")[:32] + ".tar"


class FilterModule:
    def filters(self):
        return {
            "images_standins": images_standins,
            "images_ids_by_reference": images_ids_by_reference,
            "images_to_ship": images_to_ship,
            "images_bundle_entries": images_bundle_entries,
            "images_archive_name": archive_name,
        }
