"""rtshell.sortedkeys against a plain sorted list, whatever the block size."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtshell.sortedkeys import SortedKeys

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

key_ops = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 60)),
    st.tuples(st.just("discard"), st.integers(0, 60)),
    st.tuples(st.just("many"), st.sets(st.integers(0, 60), max_size=20)),
    st.tuples(st.just("span"), st.integers(0, 70), st.integers(0, 70)),
), max_size=120)


@SETTINGS
@given(st.lists(st.integers(0, 60), max_size=40), key_ops, st.sampled_from([1, 2, 4, 8]))
def test_sorted_keys_against_a_sorted_list(initial, ops, load):
    keys = SortedKeys(initial, load=load)
    ref = sorted(set(initial))
    keys.check()
    for op in ops:
        if op[0] == "add":
            assert keys.add(op[1]) == (op[1] not in ref)
            ref = sorted(set(ref) | {op[1]})
        elif op[0] == "discard":
            assert keys.discard(op[1]) == (op[1] in ref)
            ref = [k for k in ref if k != op[1]]
        elif op[0] == "many":
            keys.discard_many(op[1])
            ref = [k for k in ref if k not in op[1]]
        else:
            start, stop = min(op[1:]), max(op[1:])
            keys.discard_span(start, stop)
            del ref[start:stop]
        keys.check()
        assert list(keys) == ref and len(keys) == len(ref)
        for start in range(0, len(ref) + 2, 3):
            assert keys.keys(start, start + 5) == ref[start:start + 5]
        for k in (-1, 0, 17, 30, 61):
            assert keys.bisect_left(k) == sum(1 for x in ref if x < k)
            assert keys.bisect_right(k) == sum(1 for x in ref if x <= k)
            assert (k in keys) == (k in ref)


def test_sorted_keys_split_and_merge_blocks():
    keys = SortedKeys(range(0, 2000, 2), load=8)
    for k in range(1, 2000, 2):
        keys.add(k)
    keys.check()
    assert len(keys._blocks) > 100 and max(len(b) for b in keys._blocks) <= 16
    for k in range(0, 1990):
        keys.discard(k)
    keys.check()
    assert list(keys) == list(range(1990, 2000)) and len(keys._blocks) <= 2
    assert keys.keys(3, 6) == [1993, 1994, 1995]
