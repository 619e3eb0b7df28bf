"""The images role's filters (and the bundle playbook's): thin names over hymt.provision.images."""

from __future__ import annotations

from hymt.provision import images


class FilterModule:
    def filters(self):
        return {
            "images_standins": images.standins,
            "images_standin_advice": images.standin_advice,
            "images_build_advice": images.build_advice,
            "images_ids_by_reference": images.ids_by_reference,
            "images_to_ship": images.to_ship,
            "images_bundle_entries": images.bundle_entries,
            "images_archive_name": images.archive_name,
        }
