"""Work on files that must follow the fate of the request's transaction (pyramid_tm's `request.tm`).

Files are not transactional: a file removed for a row being deleted must go only once the deletion has
committed, and a file placed for a row being created must go again if the transaction fails, whether the
view raised (abort) or the commit itself failed. Without a transaction manager (plain service tests) the
commit-side action runs at once and the failure-side never.
"""

from __future__ import annotations

from collections.abc import Callable


def after_commit(tm, action: Callable[[], object]) -> None:
    """Run `action` once the transaction has committed."""
    if tm is None:
        action()
    else:
        tm.get().addAfterCommitHook(lambda committed: committed and action())


def after_failure(tm, action: Callable[[], object]) -> None:
    """Run `action` if the transaction aborts or its commit fails. Actions run in the order registered."""
    if tm is not None:
        transaction = tm.get()
        transaction.addAfterCommitHook(lambda committed: committed or action())
        transaction.addAfterAbortHook(action)
