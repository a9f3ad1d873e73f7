"""pyrometer: a sampling CPU profiler and allocation profiler for CPython.

CPU sampling with vmprof's API and file format:
    pyrometer.enable(fileno, period=0.001, memory=False, lines=False, native=False, real_time=False)
    pyrometer.disable(); pyrometer.is_enabled(); start_sampling(); stop_sampling()
    with pyrometer.Profiler("out.prof") as p: ...
Reading:
    stats = pyrometer.read_profile("out.prof"); stats.get_tree(); stats.getmeta("delivered_hz")
"""
from pyrometer.errors import UsageError as ProfileError  # noqa: F401  (one-line file/option errors)
from pyrometer.sampling import Profiler, disable, enable, is_enabled, start_sampling, stop_sampling  # noqa: F401
from pyrometer.stats import Node, Stats, read_profile  # noqa: F401

__version__ = "0.1.0"
from pyrometer.tracker import Tracker  # noqa: F401
