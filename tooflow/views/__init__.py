"""Views of what is stored: the terminal (``tooflow show``) and the Prefect UI.

* :mod:`.event` — everything about one event as plain data, rendered as text and markdown;
* :mod:`.summary` — short text summaries of a notice's event, decisions and follow-up.
"""
