"""Guards: nothing tooflow waits for hangs, nothing secret leaks, no log line floods.

* :mod:`.deadline` — total deadlines of external calls;
* :mod:`.text` — text safe to store, log and print (credentials redacted, non-UTF-8 escaped);
* :mod:`.log_repeats` — repeated identical log lines counted, not repeated.
"""
