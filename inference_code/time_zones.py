"""The time zone names the endpoint and the call-log contract accept: the IANA list the tzdata
package ships (model.tar.gz carries it as code/tzdata), so a local time never depends on the
machine. Not `localtime` (the host's own zone, which zoneinfo would read from /etc) nor
`Factory` (the database's placeholder for "not set": not a place)."""

from __future__ import annotations

import functools
from importlib import resources

NOT_PLACES = frozenset({"Factory"})


@functools.lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    names = resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(names) - NOT_PLACES
