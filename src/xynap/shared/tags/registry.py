"""Which link tables attach tags to which entity, so that usage counts and tag deletion need no list
of entities here. A component registers its link model once at import time::

    register_tag_link("contact", ContactTag, ContactTag.tag_id)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TagLink:
    entity: str  # the usage key, e.g. "contact"
    model: Any  # the link model (tenant-owned)
    tag_column: Any  # its column holding the tag id


TAG_LINKS: dict[str, TagLink] = {}


def register_tag_link(entity: str, model: Any, tag_column: Any) -> None:
    TAG_LINKS[entity] = TagLink(entity, model, tag_column)
