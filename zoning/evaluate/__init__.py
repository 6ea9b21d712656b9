"""Evaluation: one vectorised path for one project or a million.

* :mod:`~zoning.evaluate.compile`: the lists in force compiled against the unit and zone layers;
* :mod:`~zoning.evaluate.overlay`: which sites lie in which units and zones (spatial assignment);
* :mod:`~zoning.evaluate.columns`: project inputs as the arrays conditions read;
* :mod:`~zoning.evaluate.proximity`: distances from sites to zones, for ``within_distance``;
* :mod:`~zoning.evaluate.min_overlap`: thresholds below which an overlap is a sliver;
* :mod:`~zoning.evaluate.prefilter`: clauses ruled out by industry and type alone (batches);
* :mod:`~zoning.evaluate.evaluation`: :func:`~zoning.evaluate.evaluation.evaluate`, from projects to verdicts;
* :mod:`~zoning.evaluate.results`: one project's :class:`~zoning.evaluate.results.Result` with its citations;
* :mod:`~zoning.evaluate.summary`: the per-project text columns of a batch;
* :mod:`~zoning.evaluate.explanation`: the audit trail, condition by condition;
* :mod:`~zoning.evaluate.provenance`: what a result was computed with.
"""
