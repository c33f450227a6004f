"""Loaded (via PYTHONPATH) only by the lazynwb 1.0 processes the CLI tests use as an oracle.

lazynwb 1.0 cannot be pointed at our test servers on 127.0.0.1 from the outside:
- its obstore reader refuses plain http unless `client_options={"allow_http": True}`, which
  it has no way to pass (real data is behind https, where this changes nothing);
- its DANDI client reads the module constant `lazynwb.dandi.DANDI_API_BASE`.
This lets plain http through and, when LAZYNWB_ORACLE_DANDI_API is set, points that constant
at the fake DANDI API. Nothing else about its behaviour changes. (benchmarks/tools.py does
the same for obstore.)
"""

import os

import obstore.store

_from_url = obstore.store.from_url


def _from_url_allowing_http(url, *args, client_options=None, **kwargs):
    if str(url).startswith("http://"):
        client_options = {**(client_options or {}), "allow_http": True}
    return _from_url(url, *args, client_options=client_options, **kwargs)


obstore.store.from_url = _from_url_allowing_http

if os.environ.get("LAZYNWB_ORACLE_DANDI_API"):
    import lazynwb.dandi

    lazynwb.dandi.DANDI_API_BASE = os.environ["LAZYNWB_ORACLE_DANDI_API"]
