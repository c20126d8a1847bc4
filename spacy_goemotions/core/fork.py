"""Fork safety for torch: make a forked child (``nlp.pipe(..., n_process=2)``) able to run the model.

torch's CPU kernels use GNU OpenMP (libgomp) here. libgomp's thread pool does not survive
``fork()``: a child that enters a parallel region after the parent has run one can wait for ever on
threads that no longer exist (spaCy issues #5507, #6662). A child that runs torch on one thread never
enters an OpenMP parallel region, so it cannot hang; and ``n_process`` workers share the cores anyway.
"""

from __future__ import annotations

import os
import sys
import threading

_installed = False
_forked_child = False
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _forked_child
    _forked_child = True
    torch = sys.modules.get("torch")
    if torch is not None:  # a parent that never imported torch has no OpenMP pool to lose (the OpenVINO path)
        # omp_set_num_threads only sets a variable; it starts no thread, so it is safe right after fork.
        torch.set_num_threads(1)


def in_forked_child() -> bool:
    """Whether this process was forked from one that had loaded a model (its inference then runs on one thread).

    Returns:
        True in such a child.
    """
    return _forked_child


def install_fork_guard() -> None:
    """Register (once per process) a handler that runs torch single-threaded in forked children.

    Called when a model is loaded, i.e. before torch ever runs a parallel region. Children started
    by ``fork`` (``multiprocessing``'s default on Linux up to Python 3.13) then compute on one thread;
    call ``torch.set_num_threads`` in the child to change it. Processes started with ``spawn`` or
    ``forkserver`` do not need it and are not affected.
    """
    global _installed
    if not hasattr(os, "register_at_fork"):  # Windows has no fork
        return
    with _lock:
        if not _installed:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _installed = True
