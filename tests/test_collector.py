"""ermlab.collector: a command pauses the cyclic collector for its start-up and resumes it,
with start-up's objects frozen, where its work starts; other processes are left alone."""

from __future__ import annotations

import gc

from ermlab import collector


def test_resume_does_nothing_where_nothing_paused_the_collector():
    frozen = gc.get_freeze_count()
    collector.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_a_paused_collector_resumes_once_with_start_ups_objects_frozen():
    frozen = gc.get_freeze_count()
    try:
        collector.pause()
        assert not gc.isenabled()
        start_up = [[i] for i in range(1000)]  # objects the collector tracks
        collector.resume()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(start_up)
        gc.disable()
        collector.resume()  # resumed already: the collector stays as the caller left it
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
