"""The core stays easy to follow: the success hook hands the task instance to few modules, in one pass."""

from __future__ import annotations

import task_instance_walk  # dev/task_instance_walk.py (dev/ is on sys.path, see conftest)


def test_the_success_hook_walk_crosses_few_modules_and_seldom_comes_back():
    result = task_instance_walk.walk()
    assert result["stops"] > 0, "the profiler saw no call holding the task instance"
    assert result["sequence"][0] == "plugins/listener"
    assert result["module_count"] <= 8, result["sequence"]
    assert result["returns"] <= 3, result["sequence"]
