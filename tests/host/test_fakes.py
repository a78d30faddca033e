"""The shell's fake client keeps the real client's API: every public method
and property of rtshell.client.Client (and of its Batch) exists on the fake
with the same parameters, kinds and defaults, so a test against the fake
cannot pass on a call the real client would refuse."""

from __future__ import annotations

import inspect

import pytest

from fakes import FakeBatch, FakeClient
from rtshell.client import Batch, Client


def _public(cls) -> dict[str, object]:
    return {name: member for name, member in inspect.getmembers(cls)
            if not name.startswith("_") and (callable(member) or isinstance(member, property))}


def _shape(fn) -> list[tuple[str, object, object]]:
    """Parameters as (name, kind, default), without self."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
            if p.name != "self"]


@pytest.mark.parametrize("real, fake", [(Client, FakeClient), (Batch, FakeBatch)],
                         ids=["Client", "Batch"])
def test_the_fake_has_every_public_member_with_the_same_signature(real, fake):
    instance = fake() if fake is FakeClient else fake(FakeClient())
    for name, member in _public(real).items():
        assert hasattr(instance, name), f"{fake.__name__} lacks {name}"
        if isinstance(member, property):
            continue
        assert _shape(getattr(fake, name)) == _shape(member), \
            f"{fake.__name__}.{name}{inspect.signature(getattr(fake, name))} != {real.__name__}.{name}{inspect.signature(member)}"


def test_the_fake_batch_raises_the_real_batch_error():
    from rtshell import errors
    from fakes import route

    client = FakeClient([route("10.0.0.0/8", oif=2)])
    with pytest.raises(errors.BatchError) as info:
        with client.batch(atomic=True) as b:
            b.add(route("10.1.0.0/16", oif=2))
            b.add(route("10.0.0.0/8", oif=2))  # exists
    assert [i for i, _e in info.value.failures] == [1] and info.value.atomic
    assert len(client.table) == 1 and info.value.undone == ["route delete 10.1.0.0/16"]
