"""Worker processes for batches, sweeps and benchmarks."""

from __future__ import annotations

import multiprocessing
from typing import Any, Sequence

__all__ = ["pool_context"]


def pool_context(preload: Sequence[str] = ()) -> Any:
    """Worker processes that do not inherit this process's threads.

    A forked child copies the parent's memory but not its threads: a lock or a thread pool
    that was in use at the fork (the band-pass filter's worker threads, pyarrow's allocator)
    can leave the child waiting forever. ``forkserver`` (the default from Python 3.14 on
    Linux) forks workers from a clean server process; ``spawn`` where it is not available.
    Either way a script that starts a pool needs the ``if __name__ == "__main__":`` guard.

    Parameters
    ----------
    preload : sequence of str
        Modules the server imports once, rather than every worker (about 3 s each).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ctx
