"""Byte transport: range readers for every scheme, one shared pool, retries, counters."""

from .counters import Counters, counting, totals
from .rangefile import RangeFile, coalesce
from .readers import (
    KeyRange,
    LocalReader,
    Reader,
    UnsafeKeyError,
    check_key,
    forget_reader,
    open_reader,
)
from .remote import HTTPReader, ObjectReader
from .routes import is_url, route
from .stores import clear_stores, discover_bucket_region

__all__ = [
    "Counters",
    "HTTPReader",
    "KeyRange",
    "LocalReader",
    "ObjectReader",
    "RangeFile",
    "Reader",
    "UnsafeKeyError",
    "check_key",
    "clear_stores",
    "coalesce",
    "counting",
    "discover_bucket_region",
    "forget_reader",
    "is_url",
    "open_reader",
    "route",
    "totals",
]
