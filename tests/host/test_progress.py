"""Long work under a bar (rtshell.progress.Work through Executor.work)."""


def test_the_work_marks_its_changes_before_its_bar_goes(monkeypatch):
    """The feed leaves a change to the work's summary while the bar is up
    (output.work) or when its seq is at most bar_seq: bar_seq is set first,
    so no change falls between the two (one did, under emulation)."""
    import io

    from fakes import FakeClient, fake_devices, route
    from rtshell.commands.executor import Executor
    from rtshell.progress import Work
    from rtshell.render import Output

    client = FakeClient()
    ex = Executor(Output("plain", file=io.StringIO(), err=io.StringIO()), devices=fake_devices(), client=client)
    seen = []
    real_exit = Work.__exit__

    def exit_(self, *exc):
        seen.append(ex.made_under_a_bar(client.last_seq))  # the bar is going now
        return real_exit(self, *exc)

    monkeypatch.setattr(Work, "__exit__", exit_)
    with ex.work("batch f", 2):
        client.add(route("10.1.0.0/16", oif=2))
    assert seen == [True] and ex.made_under_a_bar(client.last_seq)
