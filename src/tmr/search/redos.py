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

from collections.abc import Iterator
from dataclasses import dataclass

from tmr.search.regex_syntax import (
    ANY,
    MAX_NESTING,
    NONE,
    TOP,
    Alt,
    Budget,
    Char,
    Concat,
    Empty,
    Group,
    Node,
    Parser,
    Ranges,
    Repeat,
    TooComplex,
    TooDeep,
    Unsupported,
    meets,
    union,
)

MAX_COUNT = 1000
MAX_AMBIGUOUS_COUNT = 10
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


def analyse(pattern: str) -> Hazard | None:
    """The first construct in `pattern` that a backtracking engine could explode on, or None.

    None also when the pattern is not RE2 syntax this module reads: RE2 then accepts or refuses it.
    """
    try:
        tree = Parser(pattern).parse()
    except Unsupported:
        return None
    except TooDeep as deep:
        return Hazard(
            "deep nesting",
            _fragment(pattern, deep.position, len(pattern)),
            deep.position,
            f"nests groups deeper than {MAX_NESTING}, more than tmr analyses",
        )
    budget = Budget(_WORK_BUDGET)
    try:
        return _counts(pattern, tree) or _loops(pattern, tree, budget) or _adjacent(pattern, tree, budget)
    except TooComplex:
        return Hazard(
            "complex pattern",
            _fragment(pattern, 0, len(pattern)),
            0,
            "needs more work than tmr spends on checking a pattern",
        )


def _fragment(pattern: str, start: int, end: int) -> str:
    text = pattern[start:end]
    return text if len(text) <= _FRAGMENT_CHARS else text[: _FRAGMENT_CHARS - 3] + "..."


def _hazard(pattern: str, node: Node, construct: str, cost: str) -> Hazard:
    return Hazard(construct, _fragment(pattern, node.start, node.end), node.start, cost)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Group | Repeat):
        return (node.body,)
    if isinstance(node, Concat):
        return node.items
    if isinstance(node, Alt):
        return node.branches
    return ()


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in _children(node):
        yield from _walk(child)


def _count(node: Repeat) -> int:
    return max(node.min if node.max is None else node.max, 1)


def _counts(pattern: str, tree: Node) -> Hazard | None:
    """A count above MAX_COUNT, or nested counts whose product is: RE2 refuses both as well."""

    def visit(node: Node, outermost: Repeat | None, product: int) -> Hazard | None:
        if isinstance(node, Repeat):
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


def _loops(pattern: str, tree: Node, budget: Budget) -> Hazard | None:
    """Ambiguity under a loop: every turn can split the text more ways than one."""

    def visit(node: Node, around: int | None) -> Hazard | None:
        if isinstance(node, Repeat):
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

    items: tuple[Node, ...]
    start: int
    outer: _Follow | None


@dataclass(frozen=True, slots=True)
class _Prefix:
    """The single characters a branch with the rest of its turn reads, from one end: all it reads
    when `whole`, else `then` holds the characters that can come next."""

    steps: tuple[Ranges, ...]
    whole: bool
    then: Ranges


def _overlapping_alternatives(loop: Repeat, budget: Budget) -> bool:
    """Two branches of an alternation in the loop that, each with the rest of the turn, can read
    the same text: compared from their starts with what follows them, and from their ends with
    what precedes them, as in `(a+(b|.b))*`."""

    def visit(node: Node, after: _Follow | None, before: _Follow | None) -> bool:
        if isinstance(node, Alt) and (
            _branches_overlap(node.branches, after, loop.body.first, False, budget)
            or _branches_overlap(node.branches, before, loop.body.last, True, budget)
        ):
            return True
        if isinstance(node, Concat):
            items, reverse, count = node.items, node.items[::-1], len(node.items)
            return any(
                visit(item, _Follow(items, i + 1, after), _Follow(reverse, count - i, before))
                for i, item in enumerate(items)
            )
        if isinstance(node, Repeat) and node.max != 1:  # another of its turns may come next
            again = (node,)
            return visit(node.body, _Follow(again, 0, after), _Follow(again, 0, before))
        return any(visit(child, after, before) for child in _children(node))

    return visit(loop.body, None, None)


def _branches_overlap(
    branches: tuple[Node, ...], context: _Follow | None, edge: Ranges, backwards: bool, budget: Budget
) -> bool:
    """`edge`: the characters a turn starts with (ends with, reading backwards)."""

    def end(node: Node) -> Ranges:
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
        return union(*found, edge if nullable else NONE)

    # In order of their lowest end character, so each branch meets only the few after it whose
    # end characters can overlap its own: long lists of names stay cheap.
    ordered = sorted(
        ((end(b), _prefix(b, context, edge, backwards, budget)) for b in branches),
        key=lambda branch: branch[0][0][0] if branch[0] else TOP + 1,
    )
    for i, (one_end, one) in enumerate(ordered):
        for other_end, other in ordered[i + 1 :]:
            if not one_end or not other_end or other_end[0][0] > one_end[-1][1]:
                break
            budget.spend()
            if meets(one_end, other_end) and _overlap(one, other, edge, budget):
                return True
    return False


def _prefix(node: Node, context: _Follow | None, edge: Ranges, backwards: bool, budget: Budget) -> _Prefix:
    steps: list[Ranges] = []
    stack: list[tuple[tuple[Node, ...], int]] = [((node,), 0)]
    while len(steps) < _PREFIX_STEPS:
        budget.spend()
        if not stack:
            if context is None:
                return _Prefix(tuple(steps), True, NONE)
            stack.append((context.items, context.start))
            context = context.outer
            continue
        items, index = stack.pop()
        if index >= len(items):
            continue
        stack.append((items, index + 1))
        item = items[index]
        if isinstance(item, Group):
            stack.append(((item.body,), 0))
        elif isinstance(item, Concat):
            stack.append((item.items[::-1] if backwards else item.items, 0))
        elif isinstance(item, Char):
            steps.append(item.first)
        elif not isinstance(item, Empty):
            return _Prefix(tuple(steps), False, _next(item, stack, context, edge, backwards, budget))
    return _Prefix(tuple(steps), False, ANY)


def _next(
    item: Node,
    stack: list[tuple[tuple[Node, ...], int]],
    context: _Follow | None,
    edge: Ranges,
    backwards: bool,
    budget: Budget,
) -> Ranges:
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
                return union(*found)
    return union(*found, edge)


def _overlap(one: _Prefix, other: _Prefix, edge: Ranges, budget: Budget) -> bool:
    """Whether two branches, each with the rest of its turn, can read the same text: both read it
    whole, or one reads a part of the other's that a neighbouring turn (starting or ending with
    `edge`) continues."""
    a, b = one.steps, other.steps
    shared = min(len(a), len(b))
    for x, y in zip(a[:shared], b[:shared], strict=True):
        budget.spend()
        if not meets(x, y):
            return False
    a_ended = one.whole and len(a) == shared
    b_ended = other.whole and len(b) == shared
    if a_ended and b_ended:
        return True  # the same text in two ways
    if not a_ended and not b_ended:  # at least one goes on past what is known of it
        return meets(a[shared] if len(a) > shared else one.then, b[shared] if len(b) > shared else other.then)
    longer = other if a_ended else one
    return meets(longer.steps[shared] if len(longer.steps) > shared else longer.then, edge)


def _variable(node: Repeat) -> bool:
    return (node.max is None or node.max > node.min) and bool(node.body.chars)


def _absorbs(node: Node, chars: Ranges, budget: Budget, skip: Node | None = None) -> bool:
    """Whether `node` can match some text made only of `chars` (the empty text counts), with
    `skip` matching nothing."""
    budget.spend()
    if node.nullable or node is skip:
        return True
    if isinstance(node, Char):
        return meets(node.first, chars)
    if isinstance(node, Group | Repeat):
        return _absorbs(node.body, chars, budget, skip)
    if isinstance(node, Concat):
        return all(_absorbs(item, chars, budget, skip) for item in node.items)
    if isinstance(node, Alt):
        return any(_absorbs(branch, chars, budget, skip) for branch in node.branches)
    return True


def _reads(node: Node, chars: Ranges, budget: Budget, skip: Node | None) -> bool:
    """Whether `node` can match a non-empty text made only of `chars`, with `skip` matching
    nothing."""
    budget.spend()
    if node is skip:
        return False
    if isinstance(node, Char):
        return meets(node.first, chars)
    if isinstance(node, Group):
        return _reads(node.body, chars, budget, skip)
    if isinstance(node, Repeat):
        return node.max != 0 and _reads(node.body, chars, budget, skip)
    if isinstance(node, Concat):
        return all(_absorbs(item, chars, budget, skip) for item in node.items) and any(
            _reads(item, chars, budget, skip) for item in node.items
        )
    if isinstance(node, Alt):
        return any(_reads(branch, chars, budget, skip) for branch in node.branches)
    return False


def _nested_quantifier(loop: Repeat, budget: Budget) -> bool:
    """A variable repetition inside the loop that can trade characters with the loop's other turns:
    all the turn reads after it (or before it) could be read by it, and some turn can be made of
    its characters alone, so a run of them splits between it and the turns in many ways. Or
    optional parts that can each make a turn alone, as in `(a?b?)+`, where `ab` is one turn or two;
    or parts ambiguous in every turn: a repetition that needs a turn of an optional body (`(a?)+`),
    or neighbouring repetitions that can trade characters (`b?(b+)?`).
    """
    context: list[tuple[tuple[Node, ...], int]] = []
    # Per sequence and character set: the indices of the items that cannot be read.
    blockers: dict[tuple[int, Ranges], list[int]] = {}

    def side_absorbed(chars: Ranges, after: bool) -> bool:
        for items, at in context:
            key = (id(items), chars)
            if key not in blockers:
                blockers[key] = [i for i, item in enumerate(items) if not _absorbs(item, chars, budget)]
            found = blockers[key]
            if found and (found[-1] > at if after else found[0] < at):
                return False
        return True

    def visit(node: Node) -> bool:
        if (
            isinstance(node, Repeat)
            and node.min >= 1
            and node.max != 1
            and node.body.nullable
            and node.body.chars
        ):
            return True  # `(a?)+` reads `a` in one turn or two, once in each turn of the loop
        if isinstance(node, Repeat) and _variable(node):
            chars = node.body.chars
            # At most once a turn (`a?`), it cannot split text between turns by itself.
            skip = node if node.max == 1 else None
            if (side_absorbed(chars, after=True) or side_absorbed(chars, after=False)) and _reads(
                loop.body, chars, budget, skip
            ):
                return True
        if isinstance(node, Concat):
            if _trade(node, budget, bounded=True):
                return True  # `b?(b+)?` reads `b` two ways in every turn
            consuming = sum(1 for item in node.items if item.chars)
            if node.nullable and consuming > 1 and side_absorbed(NONE, True) and side_absorbed(NONE, False):
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


def _edges(node: Node, from_start: bool, bounded: bool) -> list[Repeat]:
    """The repetitions that can read a match's first (or last) character: the unbounded ones, and
    with `bounded` all of variable length."""
    if isinstance(node, Repeat) and (node.max is None or (bounded and node.max > node.min)):
        return [node]
    if isinstance(node, Group | Repeat):
        return _edges(node.body, from_start, bounded)
    if isinstance(node, Alt):
        return [r for branch in node.branches for r in _edges(branch, from_start, bounded)]
    if isinstance(node, Concat):
        found: list[Repeat] = []
        for item in node.items if from_start else reversed(node.items):
            found.extend(_edges(item, from_start, bounded))
            if not item.nullable:
                break
        return found
    return []


def _trade(node: Concat, budget: Budget, bounded: bool) -> tuple[Node, Node] | None:
    """Two repetitions in the sequence, with only optional items between them, that can trade
    characters; returned as the items holding them."""
    before: list[tuple[Repeat, Node]] = []  # repetitions that can end the text so far
    for item in node.items:
        for head in _edges(item, True, bounded):
            for tail, owner in before:
                budget.spend()
                if meets(tail.body.first, head.body.first) and meets(tail.body.last, head.body.last):
                    return owner, item
        tails = [(tail, item) for tail in _edges(item, False, bounded)]
        before = [*before, *tails] if item.nullable else tails
    return None


def _adjacent(pattern: str, tree: Node, budget: Budget) -> Hazard | None:
    """Two unbounded repetitions with only optional items between them that can trade text."""
    for node in _walk(tree):
        if isinstance(node, Concat) and (pair := _trade(node, budget, bounded=False)):
            first, last = pair
            return Hazard(
                "adjacent quantifiers",
                _fragment(pattern, first.start, last.end),
                first.start,
                "multiply a backtracking engine's time by the input length",
            )
    return None
