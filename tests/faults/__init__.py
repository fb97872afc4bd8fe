"""Fault-injection tests (issue 11): real faults in real processes, all marked ``slow``."""
