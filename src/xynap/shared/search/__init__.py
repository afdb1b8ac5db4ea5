"""Shared component: the global search (spec §3.6), mounted at ``/api/search``.

Components declare what is searchable in their manifests (``Module.search_sources``, see
``xynap.core.search``); this package owns the index table, the writer the kernel's flush listener
uses, the query on both engines and the ``xynap search reindex`` command's service.
"""

from pathlib import Path

from xynap.core import search as _kernel_search
from xynap.core.modules import Module
from xynap.shared.search.api import router
from xynap.shared.search.models import SearchDocument
from xynap.shared.search.service import IndexWriter

_kernel_search.install_writer(IndexWriter())

module = Module(
    slug="search", name="Suche", kind="shared", icon="search", color="#64748b", sort_order=5,
    description="Global full-text search across every component",
    routers=[router],
    migrations=Path(__file__).parent / "migrations" / "versions",
)

__all__ = ["SearchDocument", "module"]
