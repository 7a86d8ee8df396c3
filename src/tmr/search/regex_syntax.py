"""RE2's regex syntax read into a small tree: what the backtracking check (`search.redos`) walks.

Character sets are sorted, disjoint, inclusive code point ranges, over-approximated where exact
sets would cost more than they tell (Unicode classes, case folding). Each node keeps where its text
starts and ends in the pattern, so a finding can quote the pattern's own words. What RE2 has and
this parser does not read (lookaround and backreferences, which RE2 refuses anyway) raises
`Unsupported`; nesting deeper than MAX_NESTING raises `TooDeep`; `Budget` bounds the work of the
checks that walk the tree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_NESTING = 100

# Character sets: sorted, disjoint, inclusive code point ranges.
Ranges = tuple[tuple[int, int], ...]
TOP = 0x10FFFF
NONE: Ranges = ()
ANY: Ranges = ((0, TOP),)
_NON_ASCII: Ranges = ((0x80, TOP),)


def _normalise(ranges: Iterable[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def union(*sets: Ranges) -> Ranges:
    return _normalise(r for s in sets for r in s)


def _negate(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    next_lo = 0
    for lo, hi in ranges:
        if lo > next_lo:
            out.append((next_lo, lo - 1))
        next_lo = hi + 1
    if next_lo <= TOP:
        out.append((next_lo, TOP))
    return tuple(out)


def meets(a: Ranges, b: Ranges) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


def _chars(text: str) -> Ranges:
    return _normalise((ord(c), ord(c)) for c in text)


def _fold(ranges: Ranges) -> Ranges:
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
    return union(ranges, tuple(extra))


_DIGIT = _chars("0123456789")
_WORD = _normalise([(48, 57), (65, 90), (95, 95), (97, 122)])
_SPACE = _chars("\t\n\f\r ")
_PERL = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
_POSIX: dict[str, Ranges] = {
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


def _unicode_class(name: str) -> Ranges:
    """`\\p{name}`: exact on ASCII, every non-ASCII character assumed (an over-approximation)."""
    if name == "Any":
        return ANY
    if len(name) <= 2 and name[0] in "CLMNPSZ":  # a general category, e.g. L or Lu
        ascii_part = _normalise((c, c) for c in range(0x80) if unicodedata.category(chr(c)).startswith(name))
    elif name == "Latin":
        ascii_part = _POSIX["alpha"]
    elif name == "Common":
        ascii_part = _negate(union(_POSIX["alpha"], _NON_ASCII))
    else:  # other scripts have no ASCII letters; unknown names are left for RE2 to refuse
        ascii_part = NONE
    return union(ascii_part, _NON_ASCII)


# The parse tree. Each node carries what the checks ask of it: whether it can match the empty
# string, and the characters that can start, end, or occur anywhere in a non-empty match.


@dataclass(frozen=True, slots=True)
class Node:
    start: int
    end: int
    nullable: bool
    first: Ranges
    last: Ranges
    chars: Ranges


@dataclass(frozen=True, slots=True)
class Char(Node):
    pass


@dataclass(frozen=True, slots=True)
class Empty(Node):
    pass


@dataclass(frozen=True, slots=True)
class Group(Node):
    body: Node


@dataclass(frozen=True, slots=True)
class Concat(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Alt(Node):
    branches: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Repeat(Node):
    body: Node
    min: int
    max: int | None  # None: unbounded


def _char(ranges: Ranges, start: int, end: int) -> Char:
    return Char(start, end, False, ranges, ranges, ranges)


def _empty(start: int, end: int) -> Empty:
    return Empty(start, end, True, NONE, NONE, NONE)


def _group(body: Node, start: int, end: int) -> Group:
    return Group(start, end, body.nullable, body.first, body.last, body.chars, body)


def _concat(items: list[Node], start: int, end: int) -> Node:
    if not items:
        return _empty(start, end)
    if len(items) == 1:
        return items[0]
    first: list[Ranges] = []
    for item in items:
        first.append(item.first)
        if not item.nullable:
            break
    last: list[Ranges] = []
    for item in reversed(items):
        last.append(item.last)
        if not item.nullable:
            break
    return Concat(
        start,
        end,
        all(i.nullable for i in items),
        union(*first),
        union(*last),
        union(*(i.chars for i in items)),
        tuple(items),
    )


def _alt(branches: list[Node], start: int, end: int) -> Node:
    if len(branches) == 1:
        return branches[0]
    return Alt(
        start,
        end,
        any(b.nullable for b in branches),
        union(*(b.first for b in branches)),
        union(*(b.last for b in branches)),
        union(*(b.chars for b in branches)),
        tuple(branches),
    )


def _repeat(body: Node, low: int, high: int | None, start: int, end: int) -> Repeat:
    if high == 0:
        return Repeat(start, end, True, NONE, NONE, NONE, body, low, high)
    nullable = low == 0 or body.nullable
    return Repeat(start, end, nullable, body.first, body.last, body.chars, body, low, high)


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else 10**18  # past Python's limit on long int strings


class Unsupported(Exception):
    """Syntax this parser does not read; RE2 decides whether the pattern is valid."""


class TooComplex(Exception):
    pass


class Budget:
    """Bounds the checks' own work, which grows with the square of the pattern's size."""

    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TooComplex


class TooDeep(Exception):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


class Parser:
    """A recursive-descent reader of RE2's syntax (github.com/google/re2/wiki/Syntax)."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0
        self.depth = 0
        self.fold = False  # (?i)
        self.dot_all = False  # (?s)

    def parse(self) -> Node:
        node = self.alternation()
        if self.pos != len(self.text):  # an unmatched `)`
            raise Unsupported
        return node

    def peek(self, ahead: int = 0) -> str:
        at = self.pos + ahead
        return self.text[at] if at < len(self.text) else ""

    def alternation(self) -> Node:
        start = self.pos
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return _alt(branches, start, self.pos)

    def sequence(self) -> Node:
        start = self.pos
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            self.repetition(items)
        return _concat(items, start, self.pos)

    def repetition(self, items: list[Node]) -> None:
        """Adds one atom with its quantifier to `items`; `\\Q...\\E` gives several atoms, the last
        one quantified. After a flag group, as in `(ab)(?i)+`, RE2 quantifies the item before it."""
        atoms = self.atom()
        bounds = self.quantifier()
        if bounds is None:
            items.extend(atoms)
            return
        if not atoms:
            if not items:  # a quantifier at the start of a group
                raise Unsupported
            atoms = [items.pop()]
        if self.peek() == "?":  # lazy: the same hazards
            self.pos += 1
        if self.peek() in ("*", "+", "?") or self.counted_at(self.pos) is not None:
            raise Unsupported  # RE2 refuses `a**` and `a{2}{3}`
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
            raise Unsupported
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

    def atom(self) -> list[Node]:
        start = self.pos
        symbol = self.peek()
        if symbol == "(":
            return self.group()
        if symbol == "[":
            return [self.bracket()]
        if symbol in ("*", "+", "?") or self.counted_at(start) is not None:
            raise Unsupported  # a quantifier with nothing to repeat
        self.pos += 1
        if symbol == ".":
            return [_char(ANY if self.dot_all else _negate(_chars("\n")), start, self.pos)]
        if symbol in ("^", "$"):
            return [_empty(start, self.pos)]
        if symbol == "\\":
            return self.escape(start)
        return [self.literal(ord(symbol), start)]

    def literal(self, code: int, start: int) -> Char:
        ranges: Ranges = ((code, code),)
        return _char(_fold(ranges) if self.fold else ranges, start, self.pos)

    def group(self) -> list[Node]:
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
                    raise Unsupported  # lookbehind `(?<=`, `(?<!`, or a bad name
                self.pos = close + 1
            elif self.flags():  # `(?i)`: applies to the rest of the enclosing group
                return []
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise TooDeep(start)
        body = self.alternation()
        self.depth -= 1
        if self.peek() != ")":
            raise Unsupported
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
                raise Unsupported  # lookahead, comments, `(?P=name)`, empty flags

    def escape(self, start: int) -> list[Node]:
        symbol = self.peek()
        if symbol in ("b", "B", "A", "z"):
            self.pos += 1
            return [_empty(start, self.pos)]
        if symbol == "Q":
            end = self.text.find("\\E", self.pos)
            body = self.text[self.pos + 1 : end if end >= 0 else len(self.text)]
            atoms: list[Node] = []
            for offset, c in enumerate(body):
                self.pos = start + 2 + offset + 1
                atoms.append(self.literal(ord(c), start + 2 + offset))
            self.pos = end + 2 if end >= 0 else len(self.text)
            return atoms
        ranges = self.class_escape()
        if ranges is None:
            return [self.literal(self.code_escape(), start)]
        return [_char(_fold(ranges) if self.fold else ranges, start, self.pos)]

    def class_escape(self) -> Ranges | None:
        """`\\d \\w \\s \\pN \\p{Name} \\C` and their negations after a backslash, or None."""
        symbol = self.peek()
        if symbol.lower() in _PERL:
            self.pos += 1
            ranges = _PERL[symbol.lower()]
            return _negate(ranges) if symbol.isupper() else ranges
        if symbol == "C":
            self.pos += 1
            return ANY
        if symbol in ("p", "P"):
            self.pos += 1
            if self.peek() == "{":
                close = self.text.find("}", self.pos)
                if close < 0:
                    raise Unsupported
                name = self.text[self.pos + 1 : close]
                self.pos = close + 1
            else:
                name = self.peek()
                self.pos += 1
            negated = symbol == "P"
            if name.startswith("^"):
                negated, name = not negated, name[1:]
            if not name:
                raise Unsupported
            ranges = _unicode_class(name)
            return union(_negate(ranges), _NON_ASCII) if negated else ranges
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
                raise Unsupported
            code = int(digits, 16)
            if code > TOP:
                raise Unsupported
            return code
        if symbol in "01234567" and symbol:
            digits = symbol
            while len(digits) < 3 and self.peek() in tuple("01234567"):
                digits += self.peek()
                self.pos += 1
            if symbol != "0" and len(digits) < 2:
                raise Unsupported  # a backreference
            return int(digits, 8)
        if symbol and not symbol.isalnum() and symbol != "_":
            return ord(symbol)
        raise Unsupported

    def bracket(self) -> Char:
        start = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        parts: list[Ranges] = []
        first = True
        while first or self.peek() != "]":
            if self.peek() == "":
                raise Unsupported
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
                    raise Unsupported
            parts.append(((low, high),))
        self.pos += 1
        ranges = union(*parts)
        if self.fold:
            ranges = _fold(ranges)
        return _char(_negate(ranges) if negated else ranges, start, self.pos)


# The checks.
