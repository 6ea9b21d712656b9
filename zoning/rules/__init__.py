"""The rule model: access lists as data, and the condition vocabulary they use.

* :mod:`~zoning.rules.schema`: a list and its clauses (pydantic models);
* :mod:`~zoning.rules.nodes`: condition nodes as written in YAML, and their compilation;
* :mod:`~zoning.rules.conditions`: compiled conditions, evaluated as three-valued masks;
* :mod:`~zoning.rules.yamlfile`: reading YAML safely, with the line of every key;
* :mod:`~zoning.rules.findings`: problems found in rule files, with ``file:line`` and a fix;
* :mod:`~zoning.rules.hints`: schema errors turned into findings with fixes;
* :mod:`~zoning.rules.loading`: finding and loading rule files;
* :mod:`~zoning.rules.versions`: versions of a list and which is in force on a date;
* :mod:`~zoning.rules.references`: unit codes and zone ids a list names, checked against the layers.
"""
