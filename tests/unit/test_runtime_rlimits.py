import resource

from dockyard.runtime.rlimits import _at_most

INF = resource.RLIM_INFINITY


def test_at_most_treats_infinity_as_largest() -> None:
    assert _at_most(100, 50, INF) == 50
    assert _at_most(10, 50, INF) == 10
    assert _at_most(INF, 50, INF) == 50
    assert _at_most(INF, INF, INF) == INF
    assert _at_most(7, INF, INF) == 7
