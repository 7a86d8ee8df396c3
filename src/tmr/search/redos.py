r"""Finding regex constructs that backtracking engines run in exponential or high-polynomial time.

tmr matches with RE2, which is linear, so none of these patterns can hang tmr; but clients reuse the
patterns they send on backtracking engines (Python's re, JavaScript, Java, PCRE), and the API
contract expects such patterns answered with 400. The constructs, found from the structure alone:

- counted repetition: a count, or a product of nested counts, above MAX_COUNT (RE2's own limit):
  `a{100000}`, `(a{1,99999}){1,99999}`;
- nested quantifier: a variable repetition inside a loop that can trade characters with the loop's
  turns, so a run of them splits in exponentially many ways: `(a+)+`, `(\w+\s?)+$`, `((ab)*)+`,
  `(a|ba*)+`, `(a?b?)+`; `(ab+)+` and `(\d+\.)+` pass, a required character ends each turn;
- overlapping alternatives in a loop: two branches, each with the rest of the turn, read the same
  text, or one a prefix of the other's that the next turn continues: `(a|aa)+`, `(\d|\w)+`;
  `(ab|ac)+` and `(http|https)+` pass;
- adjacent quantifiers: unbounded repetitions with only optional items between them that can trade
  characters, each pair multiplying the time by the input's length: `\d+\d+$`, `.*.*=.*`
  (Cloudflare's 2019 outage). `.*bert.*` passes: a required literal separates the two.

A loop is a repetition without an upper bound, or whose count times the counts around it exceeds
MAX_AMBIGUOUS_COUNT: `(.*a){10}` (at most n^10 steps) passes, `(.*a){11}` is refused, as OWASP lists
`(.*a){x}` for x > 10. Character sets are over-approximated, so an unusual safe pattern may be
refused; the ordinary ones in tests/unit/test_redos.py pass, and a step-counting backtracking
matcher there checks that what passes does not explode.

The parser reads RE2's syntax; what it does not know (lookaround, backreferences) is left for RE2 to
refuse. Patterns beyond the analysis's own bounds (MAX_NESTING, a work budget) are refused.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_COUNT = 1000
MAX_AMBIGUOUS_COUNT = 10
MAX_NESTING = 100
_FRAGMENT_CHARS = 80
_PREFIX_STEPS = 64
_WORK_BUDGET = 50_000  # about a fifth of a second at worst; ordinary patterns use a few hundred


@dataclass(frozen=True, slots=True)
class Hazard:
    """A construct that backtracking engines can take exponential or high-polynomial time on."""

    construct: str  # "nested quantifier", "overlapping alternatives", ...
    fragment: str  # the pattern's own text of the construct, shortened when long
    position: int  # where the fragment starts in the pattern
    cost: str  # e.g. "can take exponential time in a backtracking engine"

    def __str__(self) -> str:
        return f"{self.construct} {self.fragment} at position {self.position}"


# Character sets: sorted, disjoint, inclusive code point ranges.
_Ranges = tuple[tuple[int, int], ...]
_TOP = 0x10FFFF
_NONE: _Ranges = ()
_ANY: _Ranges = ((0, _TOP),)
_NON_ASCII: _Ranges = ((0x80, _TOP),)


def _normalise(ranges: Iterable[tuple[int, int]]) -> _Ranges:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _union(*sets: _Ranges) -> _Ranges:
    return _normalise(r for s in sets for r in s)


def _negate(ranges: _Ranges) -> _Ranges:
    out: list[tuple[int, int]] = []
    next_lo = 0
    for lo, hi in ranges:
        if lo > next_lo:
            out.append((next_lo, lo - 1))
        next_lo = hi + 1
    if next_lo <= _TOP:
        out.append((next_lo, _TOP))
    return tuple(out)


def _meets(a: _Ranges, b: _Ranges) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


def _chars(text: str) -> _Ranges:
    return _normalise((ord(c), ord(c)) for c in text)


def _fold(ranges: _Ranges) -> _Ranges:
    """The set with the other case of its letters added, as `(?i)` reads it."""
    extra: list[tuple[int, int]] = []
    for lo, hi in ranges:
        for base, other in ((ord("a"), ord("A")), (ord("A"), ord("a"))):
            a, b = max(lo, base), min(hi, base + 25)
            if a <= b:
                extra.append((a - base + other, b - base + other))
        if hi >= 0x80 and hi - max(lo, 0x80) < 256:  # small non-ASCII ranges: fold each letter
            for code in range(max(lo, 0x80), hi + 1):
                for variant in {chr(code).lower(), chr(code).upper()}:
                    if len(variant) == 1:
                        extra.append((ord(variant), ord(variant)))
    return _union(ranges, tuple(extra))


_DIGIT = _chars("0123456789")
_WORD = _normalise([(48, 57), (65, 90), (95, 95), (97, 122)])
_SPACE = _chars("\t\n\f\r ")
_PERL = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
_POSIX: dict[str, _Ranges] = {
    "alnum": _normalise([(48, 57), (65, 90), (97, 122)]),
    "alpha": _normalise([(65, 90), (97, 122)]),
    "ascii": ((0, 0x7F),),
    "blank": _chars("\t "),
    "cntrl": ((0, 31), (127, 127)),
    "digit": _DIGIT,
    "graph": ((33, 126),),
    "lower": ((97, 122),),
    "print": ((32, 126),),
    "punct": _normalise([(33, 47), (58, 64), (91, 96), (123, 126)]),
    "space": _chars("\t\n\v\f\r "),
    "upper": ((65, 90),),
    "word": _WORD,
    "xdigit": _normalise([(48, 57), (65, 70), (97, 102)]),
}


def _unicode_class(name: str) -> _Ranges:
    """`\\p{name}`: exact on ASCII, every non-ASCII character assumed (an over-approximation)."""
    if name == "Any":
        return _ANY
    if len(name) <= 2 and name[0] in "CLMNPSZ":  # a general category, e.g. L or Lu
        ascii_part = _normalise((c, c) for c in range(0x80) if unicodedata.category(chr(c)).startswith(name))
    elif name == "Latin":
        ascii_part = _POSIX["alpha"]
    elif name == "Common":
        ascii_part = _negate(_union(_POSIX["alpha"], _NON_ASCII))
    else:  # other scripts have no ASCII letters; unknown names are left for RE2 to refuse
        ascii_part = _NONE
    return _union(ascii_part, _NON_ASCII)


# The parse tree. Each node carries what the checks ask of it: whether it can match the empty
# string, and the characters that can start, end, or occur anywhere in a non-empty match.


@dataclass(frozen=True, slots=True)
class _Node:
    start: int
    end: int
    nullable: bool
    first: _Ranges
    last: _Ranges
    chars: _Ranges


@dataclass(frozen=True, slots=True)
class _Char(_Node):
    pass


@dataclass(frozen=True, slots=True)
class _Empty(_Node):
    pass


@dataclass(frozen=True, slots=True)
class _Group(_Node):
    body: _Node


@dataclass(frozen=True, slots=True)
class _Concat(_Node):
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt(_Node):
    branches: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Repeat(_Node):
    body: _Node
    min: int
    max: int | None  # None: unbounded


def _char(ranges: _Ranges, start: int, end: int) -> _Char:
    return _Char(start, end, False, ranges, ranges, ranges)


def _empty(start: int, end: int) -> _Empty:
    return _Empty(start, end, True, _NONE, _NONE, _NONE)


def _group(body: _Node, start: int, end: int) -> _Group:
    return _Group(start, end, body.nullable, body.first, body.last, body.chars, body)


def _concat(items: list[_Node], start: int, end: int) -> _Node:
    if not items:
        return _empty(start, end)
    if len(items) == 1:
        return items[0]
    first: list[_Ranges] = []
    for item in items:
        first.append(item.first)
        if not item.nullable:
            break
    last: list[_Ranges] = []
    for item in reversed(items):
        last.append(item.last)
        if not item.nullable:
            break
    return _Concat(
        start,
        end,
        all(i.nullable for i in items),
        _union(*first),
        _union(*last),
        _union(*(i.chars for i in items)),
        tuple(items),
    )


def _alt(branches: list[_Node], start: int, end: int) -> _Node:
    if len(branches) == 1:
        return branches[0]
    return _Alt(
        start,
        end,
        any(b.nullable for b in branches),
        _union(*(b.first for b in branches)),
        _union(*(b.last for b in branches)),
        _union(*(b.chars for b in branches)),
        tuple(branches),
    )


def _repeat(body: _Node, low: int, high: int | None, start: int, end: int) -> _Repeat:
    if high == 0:
        return _Repeat(start, end, True, _NONE, _NONE, _NONE, body, low, high)
    nullable = low == 0 or body.nullable
    return _Repeat(start, end, nullable, body.first, body.last, body.chars, body, low, high)


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else 10**18  # past Python's limit on long int strings


class _Unsupported(Exception):
    """Syntax this parser does not read; RE2 decides whether the pattern is valid."""


class _TooComplex(Exception):
    pass


class _Budget:
    """Bounds the checks' own work, which grows with the square of the pattern's size."""

    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _TooComplex


class _TooDeep(Exception):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


class _Parser:
    """A recursive-descent reader of RE2's syntax (github.com/google/re2/wiki/Syntax)."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0
        self.depth = 0
        self.fold = False  # (?i)
        self.dot_all = False  # (?s)

    def parse(self) -> _Node:
        node = self.alternation()
        if self.pos != len(self.text):  # an unmatched `)`
            raise _Unsupported
        return node

    def peek(self, ahead: int = 0) -> str:
        at = self.pos + ahead
        return self.text[at] if at < len(self.text) else ""

    def alternation(self) -> _Node:
        start = self.pos
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return _alt(branches, start, self.pos)

    def sequence(self) -> _Node:
        start = self.pos
        items: list[_Node] = []
        while self.peek() not in ("", "|", ")"):
            self.repetition(items)
        return _concat(items, start, self.pos)

    def repetition(self, items: list[_Node]) -> None:
        """Adds one atom with its quantifier to `items`; `\\Q...\\E` gives several atoms, the last
        one quantified. After a flag group, as in `(ab)(?i)+`, RE2 quantifies the item before it."""
        atoms = self.atom()
        bounds = self.quantifier()
        if bounds is None:
            items.extend(atoms)
            return
        if not atoms:
            if not items:  # a quantifier at the start of a group
                raise _Unsupported
            atoms = [items.pop()]
        if self.peek() == "?":  # lazy: the same hazards
            self.pos += 1
        if self.peek() in ("*", "+", "?") or self.counted_at(self.pos) is not None:
            raise _Unsupported  # RE2 refuses `a**` and `a{2}{3}`
        body = atoms[-1]
        items.extend([*atoms[:-1], _repeat(body, bounds[0], bounds[1], body.start, self.pos)])

    def quantifier(self) -> tuple[int, int | None] | None:
        symbol = self.peek()
        if symbol in ("*", "+", "?"):
            self.pos += 1
            return {"*": (0, None), "+": (1, None), "?": (0, 1)}[symbol]
        counted = self.counted_at(self.pos)
        if counted is None:
            return None
        bounds, self.pos = counted
        if bounds[1] is not None and bounds[1] < bounds[0]:
            raise _Unsupported
        return bounds

    def counted_at(self, at: int) -> tuple[tuple[int, int | None], int] | None:
        """`{n}`, `{n,}` or `{n,m}` at `at`, and where it ends; anything else is a literal `{`."""
        text = self.text
        if at >= len(text) or text[at] != "{":
            return None
        close = text.find("}", at)
        if close < 0:
            return None
        low, comma, high = text[at + 1 : close].partition(",")
        if not (low.isascii() and low.isdigit()) or (high and not (high.isascii() and high.isdigit())):
            return None
        if not comma:
            return (_number(low), _number(low)), close + 1
        return (_number(low), _number(high) if high else None), close + 1

    def atom(self) -> list[_Node]:
        start = self.pos
        symbol = self.peek()
        if symbol == "(":
            return self.group()
        if symbol == "[":
            return [self.bracket()]
        if symbol in ("*", "+", "?") or self.counted_at(start) is not None:
            raise _Unsupported  # a quantifier with nothing to repeat
        self.pos += 1
        if symbol == ".":
            return [_char(_ANY if self.dot_all else _negate(_chars("\n")), start, self.pos)]
        if symbol in ("^", "$"):
            return [_empty(start, self.pos)]
        if symbol == "\\":
            return self.escape(start)
        return [self.literal(ord(symbol), start)]

    def literal(self, code: int, start: int) -> _Char:
        ranges: _Ranges = ((code, code),)
        return _char(_fold(ranges) if self.fold else ranges, start, self.pos)

    def group(self) -> list[_Node]:
        start = self.pos
        self.pos += 1
        saved = (self.fold, self.dot_all)
        if self.peek() == "?":
            self.pos += 1
            if self.peek() == "P" and self.peek(1) == "<":
                self.pos += 1
            if self.peek() == "<":  # a named group
                close = self.text.find(">", self.pos)
                name = self.text[self.pos + 1 : close] if close > 0 else ""
                if not name or not name.replace("_", "a").isalnum():
                    raise _Unsupported  # lookbehind `(?<=`, `(?<!`, or a bad name
                self.pos = close + 1
            elif self.flags():  # `(?i)`: applies to the rest of the enclosing group
                return []
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _TooDeep(start)
        body = self.alternation()
        self.depth -= 1
        if self.peek() != ")":
            raise _Unsupported
        self.pos += 1
        self.fold, self.dot_all = saved
        return [_group(body, start, self.pos)]

    def flags(self) -> bool:
        """Reads `i-s)` or `i:` after `(?`; True for the bare form, which ends the group."""
        if self.peek() in (":", ")"):  # `(?:`, a plain non-capturing group; `(?)`, no flags
            self.pos += 1
            return self.text[self.pos - 1] == ")"
        on = True
        seen = False
        while True:
            symbol = self.peek()
            self.pos += 1
            if symbol in ("i", "s", "m", "U"):
                seen = True
                if symbol == "i":
                    self.fold = on
                elif symbol == "s":
                    self.dot_all = on
            elif symbol == "-" and on:
                on = False
                seen = False
            elif symbol in (")", ":") and seen:
                return symbol == ")"
            else:
                raise _Unsupported  # lookahead, comments, `(?P=name)`, empty flags

    def escape(self, start: int) -> list[_Node]:
        symbol = self.peek()
        if symbol in ("b", "B", "A", "z"):
            self.pos += 1
            return [_empty(start, self.pos)]
        if symbol == "Q":
            end = self.text.find("\\E", self.pos)
            body = self.text[self.pos + 1 : end if end >= 0 else len(self.text)]
            atoms: list[_Node] = []
            for offset, c in enumerate(body):
                self.pos = start + 2 + offset + 1
                atoms.append(self.literal(ord(c), start + 2 + offset))
            self.pos = end + 2 if end >= 0 else len(self.text)
            return atoms
        ranges = self.class_escape()
        if ranges is None:
            return [self.literal(self.code_escape(), start)]
        return [_char(_fold(ranges) if self.fold else ranges, start, self.pos)]

    def class_escape(self) -> _Ranges | None:
        """`\\d \\w \\s \\pN \\p{Name} \\C` and their negations after a backslash, or None."""
        symbol = self.peek()
        if symbol.lower() in _PERL:
            self.pos += 1
            ranges = _PERL[symbol.lower()]
            return _negate(ranges) if symbol.isupper() else ranges
        if symbol == "C":
            self.pos += 1
            return _ANY
        if symbol in ("p", "P"):
            self.pos += 1
            if self.peek() == "{":
                close = self.text.find("}", self.pos)
                if close < 0:
                    raise _Unsupported
                name = self.text[self.pos + 1 : close]
                self.pos = close + 1
            else:
                name = self.peek()
                self.pos += 1
            negated = symbol == "P"
            if name.startswith("^"):
                negated, name = not negated, name[1:]
            if not name:
                raise _Unsupported
            ranges = _unicode_class(name)
            return _union(_negate(ranges), _NON_ASCII) if negated else ranges
        return None

    def code_escape(self) -> int:
        """The character of `\\n`, `\\x41`, `\\x{41}`, `\\101`, `\\.` and the like."""
        symbol = self.peek()
        self.pos += 1
        controls = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
        if symbol in controls:
            return controls[symbol]
        if symbol == "x":
            if self.peek() == "{":
                close = self.text.find("}", self.pos)
                digits = self.text[self.pos + 1 : close] if close > 0 else ""
                self.pos = close + 1
            else:
                digits = self.text[self.pos : self.pos + 2]
                self.pos += 2
            if not digits or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise _Unsupported
            code = int(digits, 16)
            if code > _TOP:
                raise _Unsupported
            return code
        if symbol in "01234567" and symbol:
            digits = symbol
            while len(digits) < 3 and self.peek() in tuple("01234567"):
                digits += self.peek()
                self.pos += 1
            if symbol != "0" and len(digits) < 2:
                raise _Unsupported  # a backreference
            return int(digits, 8)
        if symbol and not symbol.isalnum() and symbol != "_":
            return ord(symbol)
        raise _Unsupported

    def bracket(self) -> _Char:
        start = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        parts: list[_Ranges] = []
        first = True
        while first or self.peek() != "]":
            if self.peek() == "":
                raise _Unsupported
            first = False
            if self.peek() == "[" and self.peek(1) == ":":
                close = self.text.find(":]", self.pos + 2)
                name = self.text[self.pos + 2 : close] if close > 0 else ""
                posix = _POSIX.get(name.removeprefix("^"))
                if posix is not None:
                    parts.append(_negate(posix) if name.startswith("^") else posix)
                    self.pos = close + 2
                    continue
            if self.peek() == "\\":
                self.pos += 1
                ranges = self.class_escape()
                if ranges is not None:
                    parts.append(ranges)
                    continue
                low = self.code_escape()
            else:
                low = ord(self.peek())
                self.pos += 1
            high = low
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                if self.peek() == "\\":
                    self.pos += 1
                    high = self.code_escape()
                else:
                    high = ord(self.peek())
                    self.pos += 1
                if high < low:
                    raise _Unsupported
            parts.append(((low, high),))
        self.pos += 1
        ranges = _union(*parts)
        if self.fold:
            ranges = _fold(ranges)
        return _char(_negate(ranges) if negated else ranges, start, self.pos)


# The checks.


def analyse(pattern: str) -> Hazard | None:
    """The first construct in `pattern` that a backtracking engine could explode on, or None.

    None also when the pattern is not RE2 syntax this module reads: RE2 then accepts or refuses it.
    """
    try:
        tree = _Parser(pattern).parse()
    except _Unsupported:
        return None
    except _TooDeep as deep:
        return Hazard(
            "deep nesting",
            _fragment(pattern, deep.position, len(pattern)),
            deep.position,
            f"nests groups deeper than {MAX_NESTING}, more than tmr analyses",
        )
    budget = _Budget(_WORK_BUDGET)
    try:
        return _counts(pattern, tree) or _loops(pattern, tree, budget) or _adjacent(pattern, tree, budget)
    except _TooComplex:
        return Hazard(
            "complex pattern",
            _fragment(pattern, 0, len(pattern)),
            0,
            "needs more work than tmr spends on checking a pattern",
        )


def _fragment(pattern: str, start: int, end: int) -> str:
    text = pattern[start:end]
    return text if len(text) <= _FRAGMENT_CHARS else text[: _FRAGMENT_CHARS - 3] + "..."


def _hazard(pattern: str, node: _Node, construct: str, cost: str) -> Hazard:
    return Hazard(construct, _fragment(pattern, node.start, node.end), node.start, cost)


def _children(node: _Node) -> tuple[_Node, ...]:
    if isinstance(node, _Group | _Repeat):
        return (node.body,)
    if isinstance(node, _Concat):
        return node.items
    if isinstance(node, _Alt):
        return node.branches
    return ()


def _walk(node: _Node) -> Iterator[_Node]:
    yield node
    for child in _children(node):
        yield from _walk(child)


def _count(node: _Repeat) -> int:
    return max(node.min if node.max is None else node.max, 1)


def _counts(pattern: str, tree: _Node) -> Hazard | None:
    """A count above MAX_COUNT, or nested counts whose product is: RE2 refuses both as well."""

    def visit(node: _Node, outermost: _Repeat | None, product: int) -> Hazard | None:
        if isinstance(node, _Repeat):
            count = _count(node)
            if count > MAX_COUNT:
                times = f"{'up to' if node.max is not None else 'at least'} {count:,} times"
                return _hazard(pattern, node, "counted repetition", f"repeats {times}")
            product *= count
            outermost = outermost or (node if count > 1 else None)
            if product > MAX_COUNT and outermost is not None:
                return _hazard(
                    pattern, outermost, "nested counted repetition", f"repeats up to {product:,} times"
                )
        for child in _children(node):
            found = visit(child, outermost, product)
            if found:
                return found
        return None

    found = visit(tree, None, 1)
    if found:
        cost = f"{found.cost}, above the limit of {MAX_COUNT:,}"
        return Hazard(found.construct, found.fragment, found.position, cost)
    return None


def _loops(pattern: str, tree: _Node, budget: _Budget) -> Hazard | None:
    """Ambiguity under a loop: every turn can split the text more ways than one."""

    def visit(node: _Node, around: int | None) -> Hazard | None:
        if isinstance(node, _Repeat):
            turns = None if node.max is None or around is None else node.max * around
            if node.max != 1 and (turns is None or turns > MAX_AMBIGUOUS_COUNT):
                growth = (
                    "exponential time" if turns is None else f"time of the text's length to the power {turns}"
                )
                cost = f"can take {growth} in a backtracking engine"
                if _overlapping_alternatives(node, budget):
                    return _hazard(pattern, node, "overlapping alternatives", cost)
                if _nested_quantifier(node, budget):
                    return _hazard(pattern, node, "nested quantifier", cost)
            around = turns
        for child in _children(node):
            found = visit(child, around)
            if found:
                return found
        return None

    return visit(tree, 1)


@dataclass(frozen=True, slots=True)
class _Follow:
    """What comes next within a turn of a loop, reading one way: `items[start:]`, then `outer`.
    Reading backwards, `items` are in reverse order."""

    items: tuple[_Node, ...]
    start: int
    outer: _Follow | None


@dataclass(frozen=True, slots=True)
class _Prefix:
    """The single characters a branch with the rest of its turn reads, from one end: all it reads
    when `whole`, else `then` holds the characters that can come next."""

    steps: tuple[_Ranges, ...]
    whole: bool
    then: _Ranges


def _overlapping_alternatives(loop: _Repeat, budget: _Budget) -> bool:
    """Two branches of an alternation in the loop that, each with the rest of the turn, can read
    the same text: compared from their starts with what follows them, and from their ends with
    what precedes them, as in `(a+(b|.b))*`."""

    def visit(node: _Node, after: _Follow | None, before: _Follow | None) -> bool:
        if isinstance(node, _Alt) and (
            _branches_overlap(node.branches, after, loop.body.first, False, budget)
            or _branches_overlap(node.branches, before, loop.body.last, True, budget)
        ):
            return True
        if isinstance(node, _Concat):
            items, reverse, count = node.items, node.items[::-1], len(node.items)
            return any(
                visit(item, _Follow(items, i + 1, after), _Follow(reverse, count - i, before))
                for i, item in enumerate(items)
            )
        if isinstance(node, _Repeat) and node.max != 1:  # another of its turns may come next
            again = (node,)
            return visit(node.body, _Follow(again, 0, after), _Follow(again, 0, before))
        return any(visit(child, after, before) for child in _children(node))

    return visit(loop.body, None, None)


def _branches_overlap(
    branches: tuple[_Node, ...], context: _Follow | None, edge: _Ranges, backwards: bool, budget: _Budget
) -> bool:
    """`edge`: the characters a turn starts with (ends with, reading backwards)."""

    def end(node: _Node) -> _Ranges:
        found = [node.last if backwards else node.first]
        nullable, rest = node.nullable, context
        while nullable and rest is not None:
            for item in rest.items[rest.start :]:
                budget.spend()
                found.append(item.last if backwards else item.first)
                if not item.nullable:
                    nullable = False
                    break
            rest = rest.outer
        return _union(*found, edge if nullable else _NONE)

    # In order of their lowest end character, so each branch meets only the few after it whose
    # end characters can overlap its own: long lists of names stay cheap.
    ordered = sorted(
        ((end(b), _prefix(b, context, edge, backwards, budget)) for b in branches),
        key=lambda branch: branch[0][0][0] if branch[0] else _TOP + 1,
    )
    for i, (one_end, one) in enumerate(ordered):
        for other_end, other in ordered[i + 1 :]:
            if not one_end or not other_end or other_end[0][0] > one_end[-1][1]:
                break
            budget.spend()
            if _meets(one_end, other_end) and _overlap(one, other, edge, budget):
                return True
    return False


def _prefix(node: _Node, context: _Follow | None, edge: _Ranges, backwards: bool, budget: _Budget) -> _Prefix:
    steps: list[_Ranges] = []
    stack: list[tuple[tuple[_Node, ...], int]] = [((node,), 0)]
    while len(steps) < _PREFIX_STEPS:
        budget.spend()
        if not stack:
            if context is None:
                return _Prefix(tuple(steps), True, _NONE)
            stack.append((context.items, context.start))
            context = context.outer
            continue
        items, index = stack.pop()
        if index >= len(items):
            continue
        stack.append((items, index + 1))
        item = items[index]
        if isinstance(item, _Group):
            stack.append(((item.body,), 0))
        elif isinstance(item, _Concat):
            stack.append((item.items[::-1] if backwards else item.items, 0))
        elif isinstance(item, _Char):
            steps.append(item.first)
        elif not isinstance(item, _Empty):
            return _Prefix(tuple(steps), False, _next(item, stack, context, edge, backwards, budget))
    return _Prefix(tuple(steps), False, _ANY)


def _next(
    item: _Node,
    stack: list[tuple[tuple[_Node, ...], int]],
    context: _Follow | None,
    edge: _Ranges,
    backwards: bool,
    budget: _Budget,
) -> _Ranges:
    """The characters that can come next where `_prefix` stopped at `item`."""
    found = [item.last if backwards else item.first]
    if not item.nullable:
        return found[0]
    rests = [(items, index) for items, index in reversed(stack)]
    while context is not None:
        rests.append((context.items, context.start))
        context = context.outer
    for items, index in rests:
        for node in items[index:]:
            budget.spend()
            found.append(node.last if backwards else node.first)
            if not node.nullable:
                return _union(*found)
    return _union(*found, edge)


def _overlap(one: _Prefix, other: _Prefix, edge: _Ranges, budget: _Budget) -> bool:
    """Whether two branches, each with the rest of its turn, can read the same text: both read it
    whole, or one reads a part of the other's that a neighbouring turn (starting or ending with
    `edge`) continues."""
    a, b = one.steps, other.steps
    shared = min(len(a), len(b))
    for x, y in zip(a[:shared], b[:shared], strict=True):
        budget.spend()
        if not _meets(x, y):
            return False
    a_ended = one.whole and len(a) == shared
    b_ended = other.whole and len(b) == shared
    if a_ended and b_ended:
        return True  # the same text in two ways
    if not a_ended and not b_ended:  # at least one goes on past what is known of it
        return _meets(
            a[shared] if len(a) > shared else one.then, b[shared] if len(b) > shared else other.then
        )
    longer = other if a_ended else one
    return _meets(longer.steps[shared] if len(longer.steps) > shared else longer.then, edge)


def _variable(node: _Repeat) -> bool:
    return (node.max is None or node.max > node.min) and bool(node.body.chars)


def _absorbs(node: _Node, chars: _Ranges, budget: _Budget, skip: _Node | None = None) -> bool:
    """Whether `node` can match some text made only of `chars` (the empty text counts), with
    `skip` matching nothing."""
    budget.spend()
    if node.nullable or node is skip:
        return True
    if isinstance(node, _Char):
        return _meets(node.first, chars)
    if isinstance(node, _Group | _Repeat):
        return _absorbs(node.body, chars, budget, skip)
    if isinstance(node, _Concat):
        return all(_absorbs(item, chars, budget, skip) for item in node.items)
    if isinstance(node, _Alt):
        return any(_absorbs(branch, chars, budget, skip) for branch in node.branches)
    return True


def _reads(node: _Node, chars: _Ranges, budget: _Budget, skip: _Node | None) -> bool:
    """Whether `node` can match a non-empty text made only of `chars`, with `skip` matching
    nothing."""
    budget.spend()
    if node is skip:
        return False
    if isinstance(node, _Char):
        return _meets(node.first, chars)
    if isinstance(node, _Group):
        return _reads(node.body, chars, budget, skip)
    if isinstance(node, _Repeat):
        return node.max != 0 and _reads(node.body, chars, budget, skip)
    if isinstance(node, _Concat):
        return all(_absorbs(item, chars, budget, skip) for item in node.items) and any(
            _reads(item, chars, budget, skip) for item in node.items
        )
    if isinstance(node, _Alt):
        return any(_reads(branch, chars, budget, skip) for branch in node.branches)
    return False


def _nested_quantifier(loop: _Repeat, budget: _Budget) -> bool:
    """A variable repetition inside the loop that can trade characters with the loop's other turns:
    all the turn reads after it (or before it) could be read by it, and some turn can be made of
    its characters alone, so a run of them splits between it and the turns in many ways. Or
    optional parts that can each make a turn alone, as in `(a?b?)+`, where `ab` is one turn or two;
    or parts ambiguous in every turn: a repetition that needs a turn of an optional body (`(a?)+`),
    or neighbouring repetitions that can trade characters (`b?(b+)?`).
    """
    context: list[tuple[tuple[_Node, ...], int]] = []
    # Per sequence and character set: the indices of the items that cannot be read.
    blockers: dict[tuple[int, _Ranges], list[int]] = {}

    def side_absorbed(chars: _Ranges, after: bool) -> bool:
        for items, at in context:
            key = (id(items), chars)
            if key not in blockers:
                blockers[key] = [i for i, item in enumerate(items) if not _absorbs(item, chars, budget)]
            found = blockers[key]
            if found and (found[-1] > at if after else found[0] < at):
                return False
        return True

    def visit(node: _Node) -> bool:
        if (
            isinstance(node, _Repeat)
            and node.min >= 1
            and node.max != 1
            and node.body.nullable
            and node.body.chars
        ):
            return True  # `(a?)+` reads `a` in one turn or two, once in each turn of the loop
        if isinstance(node, _Repeat) and _variable(node):
            chars = node.body.chars
            # At most once a turn (`a?`), it cannot split text between turns by itself.
            skip = node if node.max == 1 else None
            if (side_absorbed(chars, after=True) or side_absorbed(chars, after=False)) and _reads(
                loop.body, chars, budget, skip
            ):
                return True
        if isinstance(node, _Concat):
            if _trade(node, budget, bounded=True):
                return True  # `b?(b+)?` reads `b` two ways in every turn
            consuming = sum(1 for item in node.items if item.chars)
            if node.nullable and consuming > 1 and side_absorbed(_NONE, True) and side_absorbed(_NONE, False):
                return True
            for index, item in enumerate(node.items):
                context.append((node.items, index))
                found = visit(item)
                context.pop()
                if found:
                    return True
            return False
        return any(visit(child) for child in _children(node))

    return visit(loop.body)


def _edges(node: _Node, from_start: bool, bounded: bool) -> list[_Repeat]:
    """The repetitions that can read a match's first (or last) character: the unbounded ones, and
    with `bounded` all of variable length."""
    if isinstance(node, _Repeat) and (node.max is None or (bounded and node.max > node.min)):
        return [node]
    if isinstance(node, _Group | _Repeat):
        return _edges(node.body, from_start, bounded)
    if isinstance(node, _Alt):
        return [r for branch in node.branches for r in _edges(branch, from_start, bounded)]
    if isinstance(node, _Concat):
        found: list[_Repeat] = []
        for item in node.items if from_start else reversed(node.items):
            found.extend(_edges(item, from_start, bounded))
            if not item.nullable:
                break
        return found
    return []


def _trade(node: _Concat, budget: _Budget, bounded: bool) -> tuple[_Node, _Node] | None:
    """Two repetitions in the sequence, with only optional items between them, that can trade
    characters; returned as the items holding them."""
    before: list[tuple[_Repeat, _Node]] = []  # repetitions that can end the text so far
    for item in node.items:
        for head in _edges(item, True, bounded):
            for tail, owner in before:
                budget.spend()
                if _meets(tail.body.first, head.body.first) and _meets(tail.body.last, head.body.last):
                    return owner, item
        tails = [(tail, item) for tail in _edges(item, False, bounded)]
        before = [*before, *tails] if item.nullable else tails
    return None


def _adjacent(pattern: str, tree: _Node, budget: _Budget) -> Hazard | None:
    """Two unbounded repetitions with only optional items between them that can trade text."""
    for node in _walk(tree):
        if isinstance(node, _Concat) and (pair := _trade(node, budget, bounded=False)):
            first, last = pair
            return Hazard(
                "adjacent quantifiers",
                _fragment(pattern, first.start, last.end),
                first.start,
                "multiply a backtracking engine's time by the input length",
            )
    return None
