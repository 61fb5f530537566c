"""What is stored about an event, read back: the reads (and a shared write) of the stages,
views and CLI.

* :mod:`.event` — an event's latest localization, its flat fields (what the gate
  evaluates and the summary prints), its sky map to plan on, its coincidences,
  which notice's run monitors it;
* :mod:`.coverage` — the sky probability and area its executed exposures cover;
* :mod:`.transactions` — a facility's HTTP exchanges stored (submission, monitor polls,
  candidate follow-up).
"""
