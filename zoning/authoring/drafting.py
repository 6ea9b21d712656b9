"""What an imported clause's wording suggests, proposed for an engineer to confirm (``zoning rules import``).

Nothing here decides: every proposal becomes a comment in the draft (see
:func:`proposal_lines`). From one clause's text it proposes

* its items: a field's text is split at its item numbers (``1.`` ``（1）``
  ``一、`` ``①``);
* its effect from the wording (禁止/不得 → prohibit, 限制/控制/替代 → restrict,
  else require); a clause saying a project must enter a park (必须进入化工园区,
  应当入园, 须入…集聚区) is proposed as prohibit *unless* inside a park zone;
* GB/T 4754 codes for the industry words it names (钢铁, 焦化…, and class names
  written in full), as the clause's targets;
* exceptions (除…外, …的除外, 但…除外, …不在此限) as an ``unless``: the industries,
  flags (等量置换 → ``capacity_replacement``, 热电联产 → ``chp``…) and category values
  (燃气 → ``fuel: gas``) they name. An industry word found only inside an
  exception (除热电联产外) is never proposed as a target;
* numbers with units as thresholds (:mod:`zoning.authoring.numbers`);
* dates it takes effect (自2024年7月1日起, 2024年7月1日起施行, 2024年7月起).

Texts are read NFKC-normalised (full-width digits and punctuation as ASCII).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

import pandas as pd
import yaml

from zoning.authoring.numbers import cn_number, find_numbers
from zoning.industries import table as industry_table
from zoning.vocabulary import Vocabulary, builtin

_ITEM = re.compile(r"(?:^|(?<=[。；;：:\s]))"  # at the start, or after punctuation or a space:
                   r"(?:\d{1,2}[.．、](?!\d)|[（(]?\d{1,2}[)）]|[一二三四五六七八九十]{1,3}、)"  # 1. 1、 (1) 1) 一、
                   r"|[\u2460-\u2473]")  # ①…⑳ anywhere
_PROHIBIT = re.compile(r"禁止|不得|严禁|不再|一律不|禁建")
_RESTRICT = re.compile(r"限制|严控|严格控制|控制|削减|替代|限批|不宜")
_PARK_NOUN = (r"(?:化工园区|工业园区|产业园区|园区|工业集聚区|产业集聚区|集聚区|工业集中区|集中区|开发区"
              r"|产业园|工业园|产业基地)")
_PARK = re.compile(
    r"(?:必须|务必|一律|均|应当|应该|原则上|全部|统一|须|需|应)\s*(?:要)?\s*"
    r"(?:进入|进驻|入驻|搬入|搬迁(?:至|到|进)|落户(?:于|到|在)?|布局(?:在|于|到)|建(?:设)?(?:在|于)|安排(?:在|到)"
    rf"|位于|集中(?:在|到|于)|入)[^,;。!?]{{0,25}}?{_PARK_NOUN}(?:内)?"
    r"|(?:必须|一律|均|应当|应|须|需|全部|原则上)[^,;。!?]{0,6}?入园(?:进区)?"
    rf"|(?:禁止|不得|严禁)[^,;。!?]{{0,12}}?在[^,;。!?]{{0,20}}?{_PARK_NOUN}(?:以|之)?外")
_EXCEPTIONS = (
    re.compile(r"(?<![清去消排拆铲解免废剔扣删革根祛剪摘])除(?:了)?(?![尘臭磷氮硫湿草雪冰锈垢险害外非])"
               r"([^。;!?]{1,80}?)(?:以外|之外|外)"),  # 除…外
    re.compile(r"(?:^|(?<=[,;。:(]))\s*(?:但是?|其中|另外)?\s*([^,;。:!?()]{1,80}?)的?除外"),  # …的除外, 但…除外
    re.compile(r"(?:^|(?<=[,;。:(]))\s*(?:但是?)?\s*([^,;。:!?()]{1,80}?)的?\s*,?\s*不(?:在此限|受此限制?)"),
)
_YEAR, _MD = r"(\d{4}|[〇零一二三四五六七八九]{4})", r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
_DATE = re.compile(rf"(?:自|从|于)?\s*(?:{_YEAR}\s*年\s*(?:{_MD}\s*月\s*(?:{_MD}\s*[日号])?)?"
                   r"|(\d{4})[./-](\d{1,2})[./-](\d{1,2})日?)\s*"
                   r"(?:(起|以后|之后|后|开始)\s*,?\s*)?(?:正式)?(施行|实施|执行|生效)?")
#: words for flags of the vocabulary besides their aliases (used only when declared)
FLAG_WORDS = {"capacity_replacement": ("等量置换", "减量置换", "倍量置换", "产能置换", "置换"),
              "emission_offset": ("替代削减", "削减替代", "等量替代", "倍量替代", "减量替代", "总量替代", "区域削减"),
              "chp": ("热电联产",), "hazardous_chemicals": ("危险化学品", "危化品"),
              "wastewater_discharge": ("排放废水", "废水排放", "外排废水", "排放污水", "污水排放", "外排污水")}
_ENCOURAGE = re.compile(r"鼓励|优先布局|优先发展|优先引进|支持发展|重点发展|引导.{0,6}集聚")
PARK_NODE = {"inside": {"zone_kinds": ["industrial_park"]}}


@dataclass
class Proposal:
    """What one clause's text suggests (every part unconfirmed)."""

    effect: str
    effect_note: str
    targets: list[tuple[str, list[str]]] = field(default_factory=list)  # industry words and codes
    conditions: list[tuple[dict, str]] = field(default_factory=list)  # further nodes, each with a note
    unless: list[tuple[dict, str]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)  # the exception phrases as written
    park: str = ""  # the "must enter a park" phrase
    dates: list[tuple[dt.date, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # numbers not proposed, exceptions naming nothing known

    @property
    def any(self) -> bool:
        """Whether anything beyond the effect is proposed."""
        return bool(self.targets or self.conditions or self.unless or self.exceptions or self.park or self.dates
                    or self.notes)


def split_items(text: str) -> list[str]:
    """A field's text split at its item numbers (``1.``, ``（2）``, ``三、``); the numbers are dropped."""
    text = str(text).strip()
    starts = [m.start() for m in _ITEM.finditer(text)]
    if len(starts) < 2:
        return [_ITEM.sub("", text, count=1).strip()] if text else []
    if starts[0] > 0 and text[:starts[0]].strip():  # a lead-in before item 1 stays with item 1
        starts[0] = 0
    pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
    return [_ITEM.sub("", p, count=1).strip() if i or _ITEM.match(p) else p.strip()
            for i, p in enumerate(pieces) if p.strip()]


def propose_effect(text: str) -> tuple[str, str]:
    """(effect, the word that suggested it) from a clause's wording."""
    for effect, pattern in (("prohibit", _PROHIBIT), ("restrict", _RESTRICT)):
        found = pattern.search(text)
        if found:
            return effect, found[0]
    found = _ENCOURAGE.search(text)
    if found:
        return "encourage", found[0]
    return "require", ""


@cache
def _matchers():
    """The industry-word pattern and each word's GB/T 4754 codes (keywords, then class names in full)."""
    path = files("zoning") / "data" / "industry_keywords.csv"
    with path.open("r", encoding="utf-8") as fh:
        words = pd.read_csv(fh, dtype=str, keep_default_na=False)
    keywords = {row.word: row.codes.split() for row in words.itertuples() if row.word}
    classes = industry_table().frame
    classes = classes[(classes["level"] >= 3) & (classes["name"].str.len() >= 4)
                      & ~classes["name"].str.startswith("其他")]
    names = {row.name: [f"{row.section}{row.code}"] for row in classes.itertuples()}
    vocabulary = {**names, **keywords}  # a keyword wins over a class name spelt the same
    pattern = re.compile("|".join(re.escape(w) for w in sorted(vocabulary, key=len, reverse=True)))
    return pattern, vocabulary


def propose_industries(text: str) -> list[tuple[str, list[str]]]:
    """Industry words found in ``text`` and the GB/T 4754 codes proposed for each (in order of appearance)."""
    pattern, vocabulary = _matchers()
    found: dict[str, list[str]] = {}
    for match in pattern.finditer(text):
        found.setdefault(match[0], vocabulary[match[0]])
    return list(found.items())


def find_dates(text: str) -> list[tuple[dt.date, str]]:
    """Dates ``text`` says something takes effect (自2024年7月1日起, 2024年7月起施行), with the phrase."""
    found = []
    for m in _DATE.finditer(unicodedata.normalize("NFKC", text)):
        year, month, day = (m[1], m[2], m[3]) if m[1] else (m[4], m[5], m[6])
        since, enacted = m[7], m[8]
        if not year or not (since or enacted) or (since in ("后", "以后", "之后") and not day) \
                or (not since and not month):
            continue  # a deadline (2025年底前), a bare year (2025年实施…), "after a month": no start date
        try:
            date = dt.date(*(int(p) if p.isdigit() else cn_number(p) or 0 for p in (year, month or "1", day or "1")))
        except ValueError:
            continue
        found.append((date, m[0].strip(" ,")))
    return found


def propose(text: str, vocabulary: Vocabulary | None = None) -> Proposal:
    """Everything the wording of one clause suggests (see the module doc)."""
    vocabulary = vocabulary or builtin()
    norm = unicodedata.normalize("NFKC", text)
    spans: list[tuple[int, int, str]] = []
    for pattern in _EXCEPTIONS:
        for m in pattern.finditer(norm):
            if m[1].strip() and not any(a < m.end() and m.start() < b for a, b, _ in spans):
                spans.append((m.start(), m.end(), m[1].strip()))
    park = next((m for m in _PARK.finditer(norm) if not _inside(m.start(), spans)), None)
    masked = _mask(norm, [(a, b) for a, b, _ in spans] + ([park.span()] if park else []))
    effect, word = propose_effect(masked)
    proposal = Proposal(effect, f"proposed from {word!r} in the text; confirm" if word else
                        "no prohibit/restrict wording found; confirm", targets=propose_industries(masked),
                        dates=find_dates(norm))
    if park:
        proposal.effect, proposal.park = "prohibit", park[0]
        proposal.effect_note = (f"proposed from {park[0]!r}: a project outside the park is prohibited "
                                "(the park is the exception below); confirm")
        proposal.unless.append((PARK_NODE, f"inside a park zone, from {park[0]!r}"))
    numbers = find_numbers(norm, vocabulary)
    for number in numbers:
        if number.node is None:
            proposal.notes.append(number.note)
        elif _inside(number.start, spans):
            proposal.unless.append((number.node, number.note))
        else:
            proposal.conditions.append((number.node, number.note))
    for start, end, inner in spans:
        phrase = norm[start:end].strip(" ,")
        proposal.exceptions.append(phrase)
        nodes = _exception_nodes(inner, vocabulary)
        proposal.unless += [(node, f"from {phrase!r}") for node in nodes]
        if not nodes and not any(start <= n.start < end for n in numbers):
            proposal.notes.append(f"exception {phrase!r} names no industry or declared attribute: to let it decide, "
                                  "declare one (a *.attributes.yaml beside the lists) and add unless: {attr: NAME, "
                                  "eq: true}")
    return proposal


def _exception_nodes(inner: str, vocabulary: Vocabulary) -> list[dict]:
    """The unless nodes an exception's words name: industries, flags, category values, a park."""
    nodes: list[dict] = []
    codes = list(dict.fromkeys(c for _, cs in propose_industries(inner) for c in cs))
    if codes:
        nodes.append({"industry": codes})
    if re.search(_PARK_NOUN + "|入园", inner):
        nodes.append(PARK_NODE)
    for name, spec in vocabulary.attributes.items():
        if spec.flag:
            words = [w for w in (*spec.aliases, *FLAG_WORDS.get(name, ())) if len(w) >= 2 and not w.isascii()]
            hit = next((m for w in sorted(words, key=len, reverse=True) for m in re.finditer(re.escape(w), inner)),
                       None)
            if hit and name != "in_park":  # a park is said with the zone above
                negated = bool(re.search(r"(?:不|无|未|零)\s*$", inner[:hit.start()]))
                nodes.append({"attr": name, "eq": not negated})
        elif spec.category:
            for value, words in spec.values.items():
                if any(len(w) >= 2 and w in inner for w in words):
                    nodes.append({"attr": name, "eq": value})
    return nodes


def _inside(at: int, spans) -> bool:
    """Whether position ``at`` lies in one of ``spans`` ((start, end, …) tuples)."""
    return any(a <= at < b for a, b, *_ in spans)


def _mask(text: str, spans) -> str:
    """``text`` with the characters of ``spans`` blanked (so no word is found there)."""
    chars = list(text)
    for a, b in spans:
        chars[a:b] = "|" * (b - a)
    return "".join(chars)


def comment(text: str, limit: int = 80) -> str:
    """``text`` made safe for one YAML comment line: line breaks, controls and non-printables become spaces."""
    flat = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in str(text))
    flat = re.sub(r" {2,}", " ", flat).strip()
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors: a node written twice is written out twice."""

    def ignore_aliases(self, data) -> bool:
        """Never an alias."""
        return True


class _Flow(dict):
    """A mapping written on one line: ``{zone_kinds: [river], distance_m: 1000}``."""


_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data,
                                                                             flow_style=True))


def _flowed(value):
    """``value`` with every ``within_distance`` and ``inside`` specification marked to be written on one line."""
    if isinstance(value, list):
        return [_flowed(v) for v in value]
    if isinstance(value, dict):
        return {k: _Flow(v) if k in ("within_distance", "inside") else _flowed(v) for k, v in value.items()}
    return value


def node_lines(nodes: list[dict], indent: str) -> list[str]:
    """Condition nodes as commented YAML under a key: one node as a mapping, several as a list."""
    value = _flowed(nodes[0] if len(nodes) == 1 else nodes)
    text = yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=None,
                     width=10_000)
    return [f"{indent}#   {line}" for line in text.splitlines()]


def proposal_lines(p: Proposal, indent: str = "    ") -> list[str]:
    """A clause's proposals as comment lines (uncommenting a block gives valid YAML for the clause)."""
    lines = []
    nodes = [{"industry": list(dict.fromkeys(c for _, cs in p.targets for c in cs))}] if p.targets else []
    if p.targets:
        names = "; ".join(f"{w} → {' '.join(cs)}" for w, cs in p.targets)
        lines.append(f"{indent}# Proposed industry codes (unconfirmed), from the words: {comment(names, 200)}")
    for node, note in p.conditions:
        lines.append(f"{indent}# Proposed threshold (unconfirmed): {comment(note, 200)}")
        nodes.append(node)
    if nodes:
        lines += [f"{indent}# conditions:", *node_lines(nodes, indent)]
    if p.park:
        lines.append(f"{indent}# 'Must enter a park' ({comment(p.park)}): prohibited unless inside a park zone. "
                     "inside: says it (give the kind your zone layer gives parks); where projects state it, "
                     "{attr: in_park, eq: true} says the same")
    if p.unless:
        notes = "; ".join(dict.fromkeys(note for _, note in p.unless))
        lines.append(f"{indent}# Proposed exception (unconfirmed), {comment(notes, 200)}")
        codes = list(dict.fromkeys(c for n, _ in p.unless for c in n.get("industry", ())))
        rest = [n for n, _ in p.unless if "industry" not in n]
        nodes = list({yaml.safe_dump(n): n for n in ([{"industry": codes}] if codes else []) + rest}.values())
        lines += [f"{indent}# unless:", *node_lines([{"any": nodes}] if len(nodes) > 1 else nodes, indent)]
    for date, phrase in p.dates:
        lines.append(f"{indent}# Proposed effective_from (unconfirmed): {date.isoformat()}, from {comment(phrase)!r}. "
                     "A clause has no date of its own: give the list (or a version of it holding this clause) "
                     "that effective_from")
    lines += [f"{indent}# Note: {comment(note, 200)}" for note in p.notes]
    return lines
