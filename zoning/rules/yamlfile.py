"""Reading a rule file's YAML safely, with the line (1-based) of every key and item.

Only PyYAML's safe loader is used: no tags that build Python objects. A
duplicate key, text that is not UTF-8, a full-width colon typed by a
Chinese input method, an unclosed quote or bracket, or an impossible date
is reported as a :class:`~zoning.rules.findings.Finding` at its line.

A rule file may come from anywhere, so its size is bounded before anything
is built from it (see :mod:`zoning.limits`): libyaml (PyYAML's C loader,
when installed; else the pure-Python one) composes the nodes, which bounds
nesting at 1,000 levels, and one pass over them refuses nesting deeper than
``rule_depth`` levels, anchors and aliases (``&x`` / ``*x``) that refer to
themselves or that would expand the file beyond ``rule_items`` items, all
before the document is constructed. The pure-Python composer recurses: with
it, the depth is checked first from the parser's event stream.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from zoning import limits
from zoning.errors import DataError
from zoning.rules.findings import FileError, Finding

#: libyaml's parser and composer when PyYAML was built with it (about five times faster, and its parser
#: does not recurse); else the pure-Python ones. Both compose the same nodes, with the same marks: an
#: alias is the anchored node itself, never a copy, so the guards below see the same graph.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> tuple[object, dict[tuple, int]]:
    """Parse a YAML file safely; return the data and the line (1-based) of every key and item.

    Lines are keyed by path: ``("clauses", 0, "conditions")``. Problems raise
    :class:`DataError` naming ``file:line``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileError(Finding("error", str(path), None, "", f"cannot read: {exc.strerror}",
                                "check the path and permissions")) from None
    except UnicodeDecodeError as exc:
        raise FileError(Finding("error", str(path), exc.object[:exc.start].count(b"\n") + 1, "",
                                f"not UTF-8 text (byte {exc.start})",
                                "re-save the file as UTF-8 (a file saved as GBK needs converting)")) from None
    loader = None
    try:
        loader = _LOADER(text)  # the reader refuses control characters here already
        if _LOADER is yaml.SafeLoader:  # the pure-Python composer recurses: bound the depth first
            _check_depth(text, path)
        try:
            node = loader.get_single_node()  # libyaml's composer stops at its own bound, 1,000 levels
        except yaml.YAMLError:
            _check_depth(text, path)  # a nesting beyond the limit before the problem is said first, at its line
            raise
        if node is not None:
            _check_graph(node, path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None) or str(exc)
        context, opened = getattr(exc, "context", None) or "", getattr(exc, "context_mark", None)
        wide = _full_width_colon(text, mark.line if mark else 0)
        if wide is not None:  # 键：值 typed with a Chinese input method
            raise FileError(Finding("error", str(path), wide, "", "a full-width colon '：' after a key",
                                    "type the key's colon as an ASCII ':' followed by a space")) from None
        if opened is not None and ("quoted scalar" in context or "flow" in context):
            # an unclosed quote or bracket: point where it opens, not at the end of the file
            problem = f"{problem} {context} that starts on line {opened.line + 1} (not closed)"
            mark = opened
        raise FileError(Finding("error", str(path), mark.line + 1 if mark else None, "",
                                f"not valid YAML: {problem}",
                                "check indentation, and quote text that contains ': ' or starts with a special "
                                "character; close every quote and bracket; tabs are not allowed")) from None
    except ValueError as exc:  # a well-formed value PyYAML cannot build, e.g. the date 2021-02-30
        raise FileError(Finding("error", str(path), _unbuildable_line(node), "", f"not a valid value: {exc}",
                                "write dates as real calendar dates, YYYY-MM-DD")) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[tuple, int] = {}

    def visit(node, key: tuple, seen: frozenset) -> None:
        if id(node) in seen:  # an alias of an enclosing node
            return
        seen = seen | {id(node)}
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else str(k)
                here = key + (name,)
                if here in lines:
                    raise FileError(Finding(
                        "error", str(path), k.start_mark.line + 1, "", f"{name!r} appears twice in one mapping "
                        f"(also on line {lines[here]}); only the last would count",
                        "delete one of them"))
                lines[here] = k.start_mark.line + 1
                visit(v, here, seen)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[key + (i,)] = item.start_mark.line + 1
                visit(item, key + (i,), seen)

    if node is not None:
        visit(node, (), frozenset())
    return data, lines


def _check_depth(text: str, path: Path) -> None:
    """Refuse nesting deeper than the ``rule_depth`` limit, from the parser's events (no recursion)."""
    limit = limits.current().rule_depth
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > limit:
                    raise _too_deep(path, limit, event.start_mark.line + 1)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:  # libyaml's own bound (1,000 levels), met while scanning ahead
        if "nesting depth" not in str(exc.problem):
            raise
        raise _too_deep(path, limit, (exc.problem_mark.line + 1) if exc.problem_mark else 1) from None


def _too_deep(path: Path, limit: int, line: int) -> FileError:
    return FileError(Finding("error", str(path), line, "", f"nested more than {limit} levels deep",
                             "an access list needs a few levels (conditions nest all/any/not a handful deep): "
                             f"simplify the structure, or {limits.how_to_raise('rule_depth')}"))


def _check_graph(root: yaml.Node, path: Path) -> None:
    """One pass over the composed nodes, in document order (no recursion): refuse nesting deeper than
    ``rule_depth`` (as :func:`_check_depth` counts it: an alias is not descended), then an alias that refers
    to the node that contains it, then anchors and aliases that expand the document beyond ``rule_items``
    items; sizes are counted once per node (memoised), never by expanding."""
    current = limits.current()
    depth_limit, limit = current.rule_depth, current.rule_items
    scalar = yaml.ScalarNode
    size: dict[int, int] = {}
    uses: dict[int, int] = {}
    order: list[yaml.Node] = []  # nodes in document order, first reference first
    open_: set[int] = set()
    recursive: yaml.Node | None = None
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]  # node, its depth, whether finished
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            open_.discard(key)
            if recursive is None:
                size[key] = 1 + sum(size[id(c)] for c in _children(node))
            continue
        uses[key] = uses.get(key, 0) + 1
        if key in size:
            continue
        if key in open_:
            recursive = recursive or node
            continue
        order.append(node)
        if type(node) is scalar or isinstance(node, scalar):
            size[key] = 1
            continue
        depth += 1
        if depth > depth_limit:
            raise _too_deep(path, depth_limit, node.start_mark.line + 1)
        open_.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth, False) for c in reversed(_children(node)))
    if recursive is not None:
        raise FileError(Finding("error", str(path), recursive.start_mark.line + 1, "",
                                "an alias refers to the node that contains it (a recursive anchor)",
                                "write the value out instead of the alias"))
    total = size[id(root)]
    if total > limit:
        reused = next((n for n in order if uses[id(n)] > 1), root)
        raise FileError(Finding(
            "error", str(path), reused.start_mark.line + 1, "",
            f"anchors and aliases (&name / *name) expand the file to {total:,} items, more than the limit of "
            f"{limit:,} (the node on this line is reused {uses[id(reused)]:,} times)",
            f"write the values out instead of reusing them through aliases, or {limits.how_to_raise('rule_items')}"))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _full_width_colon(text: str, near: int) -> int | None:
    """Line (1-based) of a ``key：`` with a full-width colon at or just before line ``near`` (0-based)."""
    lines = text.splitlines()
    for i in range(min(near, len(lines) - 1), max(near - 3, -1), -1):
        if re.match(r"^\s*-?\s*[A-Za-z_][A-Za-z0-9_\-]*\s*：", lines[i]):
            return i + 1
    return None


def _unbuildable_line(node) -> int | None:
    """Line of the first scalar under ``node`` that PyYAML recognises but cannot build."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            probe = yaml.SafeLoader("")
            try:
                probe.construct_object(n, deep=True)
            except ValueError:
                return n.start_mark.line + 1
            finally:
                probe.dispose()
        elif isinstance(n, yaml.MappingNode):
            stack += [v for pair in reversed(n.value) for v in reversed(pair)]
        elif isinstance(n, yaml.SequenceNode):
            stack += list(reversed(n.value))
    return None


def line_of(lines: dict[tuple, int], loc) -> int | None:
    """Line of the deepest part of ``loc`` the file has (a missing field: its parent)."""
    loc = tuple(loc)
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1 if lines else None


def read_model(path: Path, model: type[M], readme: str) -> tuple[M, dict[tuple, int]]:
    """A YAML file read and validated as ``model``, with its lines; the first problem raises
    :class:`DataError` naming ``file:line`` and the field, pointing at the README section ``readme``."""
    data, lines = read_yaml(path)
    try:
        return model.model_validate(data or {}), lines
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DataError(f"{path}:{line_of(lines, first['loc']) or 1}: field {where}: "
                        f"{first['msg'].removeprefix('Value error, ')} (fix: see README, {readme})") from None
