"""How a flow run goes, and what it leaves where an operator looks.

* :mod:`.budgets` — time budgets of the Prefect tasks and flows;
* :mod:`.outcome` — which flow run handled a notice, and how it ended;
* :mod:`.failures` — a stage failure recorded on the notice, its event, ``tooflow health``;
* :mod:`.logs` — tooflow's own log lines in the Prefect run's logs.
"""
