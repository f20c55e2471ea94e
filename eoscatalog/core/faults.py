"""Named steps where a crash test can make this process die, as a power cut would.

``EOS_CRASH_AT=<step>`` (or ``<step>:<n>``, the n-th time the step is reached) makes the
process call ``os._exit(CRASH_EXIT)`` there: no cleanup, no ``finally``, no atexit, like a
``kill -9``. Unset (always, outside tests), a step costs one dictionary lookup.

Steps, in the order a put and a get reach them:

- ``put.hashed``: the files are hashed, nothing is stored yet;
- ``put.part-recorded``: a multipart upload's part is stored and in the upload journal;
- ``store.blob-temp``: a local store's temp file holds the blob, not yet linked into place;
- ``put.blobs-stored``: every blob is stored, no changeset is written;
- ``commit.changeset-written``: the changeset is in the store, this index has not applied it;
- ``commit.applied``: the index applied it, a checkpoint may follow;
- ``commit.checkpoint-temp``: a checkpoint file is being written;
- ``get.temp-written``: a download's temp file is complete but not verified or renamed;
- ``get.cached``: the cache entry is in place, the user's file is not;
- ``get.materialize-temp``: the user's file is a temp copy beside its final path.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

__all__ = ["CRASH_EXIT", "ENV", "STEPS", "crash_point"]

ENV = "EOS_CRASH_AT"
CRASH_EXIT = 77
STEPS = (
    "put.hashed", "put.part-recorded", "store.blob-temp", "put.blobs-stored",
    "commit.changeset-written",
    "commit.applied", "commit.checkpoint-temp", "get.temp-written", "get.cached",
    "get.materialize-temp",
)
_reached: Counter[str] = Counter()
_lock = threading.Lock()


def crash_point(step: str) -> None:
    """Die here if ``EOS_CRASH_AT`` names this step (and this is its n-th occurrence).

    >>> crash_point("put.hashed")  # EOS_CRASH_AT is not set: nothing happens
    """
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != step:
        return
    with _lock:
        _reached[step] += 1
        count = _reached[step]
    if count == int(nth or 1):
        os._exit(CRASH_EXIT)
