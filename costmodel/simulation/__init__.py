"""Simulation: the real resilience decorators through an outage, in virtual time.

``scenario`` (arrivals, failure windows, the simulated downstream), ``engine`` (the
discrete-event run of one scenario on a virtual-time loop), ``run`` (``simulate``,
``compare_policies``, ``summarize``, simulation files). The loop itself is
``resilience.virtual_time``.
"""
