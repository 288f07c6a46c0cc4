"""Every (action, status) pair: legal moves land on the documented status, illegal ones raise."""

import pytest

from pingan.lifecycle import Action, IllegalMove, allowed, target
from pingan.models import Status as S

LEGAL = {
    Action.dispatch: {S.new: S.dispatched},
    Action.ack: {s: S.acknowledged for s in (S.dispatched, S.escalated, S.transferred, S.reopened)},
    Action.on_scene: {s: S.on_scene for s in (S.dispatched, S.acknowledged, S.escalated, S.transferred, S.reopened)},
    Action.progress: {s: S.in_progress for s in (S.dispatched, S.acknowledged, S.on_scene, S.escalated, S.transferred, S.reopened)},
    Action.resolve: {s: S.resolved for s in (S.acknowledged, S.on_scene, S.in_progress)},
    Action.close: {S.resolved: S.closed},
    Action.escalate: {s: S.escalated for s in (S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.transfer: {s: S.transferred for s in (S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.return_: {s: S.returned for s in (S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.withdraw: {s: S.withdrawn for s in (S.new, S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.reopen: {S.resolved: S.reopened, S.closed: S.reopened},
    Action.grade: {s: s for s in (S.new, S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(S))
def test_every_move(action, status):
    expected = LEGAL[action].get(status)
    if expected is None:
        with pytest.raises(IllegalMove):
            target(action, status)
    else:
        assert target(action, status) == expected


def test_terminal_statuses_allow_only_reopen_after_close():
    assert allowed(S.withdrawn) == []
    assert allowed(S.returned) == []
    assert allowed(S.closed) == [Action.reopen]
    assert set(allowed(S.resolved)) == {Action.close, Action.reopen}
