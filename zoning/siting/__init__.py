"""Siting guidance (选址引导): where a project may go, and what would change a result.

* :mod:`~zoning.siting.where`: the map of where a project is prohibited, restricted or permitted;
* :mod:`~zoning.siting.counterfactuals`: for a check, the input changes that would lift its deciding clauses;
* :mod:`~zoning.siting.places`: the nearest places where the same project would be less restricted.
"""
