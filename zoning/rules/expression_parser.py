"""Parsing the expression language of :mod:`zoning.rules.expressions`: a tokeniser and a recursive-descent
parser into its closed node classes, bounded in length and nesting."""

from __future__ import annotations

import re
from collections.abc import Callable

from zoning.rules.expressions import (
    COMPARISONS,
    FUNCTIONS,
    Attr,
    Bin,
    Call,
    Comparison,
    Expr,
    ExpressionError,
    Neg,
    Num,
    Param,
)

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
                    r"|(?P<param>\$[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<quoted>`[^`]+`)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op><=|>=|==|!=|[-+*/(),<>]))")
#: the most tokens, and the deepest nesting (signs, brackets, calls), an expression may have
MAX_TOKENS = 500
MAX_DEPTH = 32


class _Parser:
    """Recursive descent over the tokens of one expression (depth bounded by the text's length)."""

    def __init__(self, text: str, name: Callable[[str], str], parameter: Callable[[str], str]):
        self.text, self.resolve_name, self.resolve_parameter = text, name, parameter
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while text[position:].strip():
            match = _TOKEN.match(text, position)
            if not match:
                raise ExpressionError("unexpected character", text, len(text) - len(text[position:].lstrip()))
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        if len(self.tokens) > MAX_TOKENS:
            raise ExpressionError(f"too long: at most {MAX_TOKENS} tokens", text, 0)
        self.at = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "", len(self.text))

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise ExpressionError(f"expected {value!r}", self.text, token[2])
        if token[0] == "end":
            raise ExpressionError("unexpected end", self.text, token[2])
        self.at += 1
        return token

    def comparison(self) -> Comparison:
        left = self.sum()
        kind, op, position = self.peek()
        if op not in COMPARISONS:
            raise ExpressionError("expected a comparison (<, <=, >, >=, ==, !=)", self.text, position)
        self.take()
        right = self.sum()
        self.end()
        return Comparison(op, left, right)

    def amount(self) -> Expr:
        value = self.sum()
        self.end()
        return value

    def end(self) -> None:
        kind, value, position = self.peek()
        if kind != "end":
            raise ExpressionError(f"unexpected {value!r}", self.text, position)

    def sum(self) -> Expr:
        left = self.product()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            left = Bin(op, left, self.product())
        return left

    def product(self) -> Expr:
        left = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            left = Bin(op, left, self.unary())
        return left

    def unary(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} deep", self.text, self.peek()[2])
        try:
            if self.peek()[1] == "-":
                self.take()
                return Neg(self.unary())
            if self.peek()[1] == "+":
                self.take()
                return self.unary()
            return self.atom()
        finally:
            self.depth -= 1

    def atom(self) -> Expr:
        kind, value, position = self.peek()
        if kind == "num":
            self.take()
            return Num(float(value))
        if kind == "param":
            self.take()
            return Param(self._resolved(self.resolve_parameter, value[1:], position))
        if kind in ("name", "quoted"):
            self.take()
            word = value.strip("`")
            if kind == "name" and word in FUNCTIONS and self.peek()[1] == "(":
                self.take("(")
                args = [self.sum()]
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.sum())
                self.take(")")
                return Call(word, tuple(args))
            return Attr(self._resolved(self.resolve_name, word, position, self._hyphenated(word)))
        if value == "(":
            self.take()
            inner = self.sum()
            self.take(")")
            return inner
        raise ExpressionError("expected a number, an attribute, a $parameter or '('", self.text, position)

    def _hyphenated(self, word: str) -> str | None:
        """``NH3-N`` when ``word`` (N) follows ``NH3 -`` and that whole name is an attribute: a hint."""
        if self.at >= 3 and self.tokens[self.at - 2][1] == "-" and self.tokens[self.at - 3][0] == "name":
            joined = f"{self.tokens[self.at - 3][1]}-{word}"
            try:
                self.resolve_name(joined)
            except Exception:  # noqa: BLE001 - only a hint: any refusal means no
                return None
            return joined
        return None

    def _resolved(self, resolve: Callable[[str], str], word: str, position: int, joined: str | None = None) -> str:
        try:
            return resolve(word)
        except (ValueError, LookupError) as exc:
            if joined is not None:
                raise ExpressionError(f"{joined} has a hyphen, read as a minus sign: write `{joined}` in backquotes",
                                      self.text, position) from None
            raise ExpressionError(str(exc).split(" (known:")[0], self.text, position) from None


def parse_comparison(text: str, name: Callable[[str], str], parameter: Callable[[str], str]) -> Comparison:
    """``text`` as a comparison; ``name`` and ``parameter`` resolve (or refuse, raising ValueError) the
    attributes and parameters it names."""
    return _Parser(text, name, parameter).comparison()


def parse_amount(text: str, name: Callable[[str], str], parameter: Callable[[str], str]) -> Expr:
    """``text`` as an amount (no comparison)."""
    return _Parser(text, name, parameter).amount()
