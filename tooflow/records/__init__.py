"""What is stored about an event, read back: the reads the stages, views and CLI share.

* :mod:`.event` — an event's latest localization, its flat fields (what the gate
  evaluates and the summary prints), its sky map to plan on, its coincidences,
  which notice's run monitors it;
* :mod:`.coverage` — the sky probability and area its executed exposures cover.
"""
