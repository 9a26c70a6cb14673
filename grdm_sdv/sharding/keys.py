"""Primary keys by position: the key of row ``i`` of a table, whatever shard or worker asks.

Sampling in one process draws a table's keys from its RDT generator in sequence (an
``IndexGenerator`` counter, or the ``RegexGenerator`` enumerating the strings a regex matches).
Shards generated apart, possibly on other machines, cannot share that sequence, and a child's
foreign key must name its parent's key without the parent's shard. So here the ``i``-th key
is computed directly: the ``i``-th string of RDT's enumeration of the regex (the same
strings, in the same order, as the generator yields; checked against it in the tests), or
``prefix + (start + i) + suffix`` for an ``IndexGenerator``. ``generation_order='scrambled'``
(SDV's default for keys) maps positions through a fixed affine permutation of ``0..n-1``, so
the keys are the same set one process would draw, in no row order.
"""

from __future__ import annotations

import re
import string
import sys

import numpy as np

if sys.version_info >= (3, 11):  # pragma: no cover - as RDT does
    from re import _parser
else:  # pragma: no cover
    import sre_parse as _parser

_BIG = 1 << 62  # sizes beyond this are treated as infinite: no int64 position reaches them


class UnsupportedKey(ValueError):
    """The key generator cannot be addressed by position."""


def _chars(regex: str) -> list[str]:
    pattern = re.compile(regex)
    return [c for c in string.printable if pattern.match(c)]


_CATEGORIES = {
    _parser.CATEGORY_SPACE: _chars(r'\s'), _parser.CATEGORY_NOT_SPACE: _chars(r'\S'),
    _parser.CATEGORY_DIGIT: _chars(r'\d'), _parser.CATEGORY_NOT_DIGIT: _chars(r'\D'),
    _parser.CATEGORY_WORD: _chars(r'\w'), _parser.CATEGORY_NOT_WORD: _chars(r'\W'),
}


class _Node:
    """One part of a regex as a sequence of strings: ``size`` and ``at(positions)``."""

    size: int

    def at(self, pos: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class _Choice(_Node):
    """One of a list of strings (a literal, a range, a category, ``.``)."""

    def __init__(self, options: list[str]) -> None:
        self.options = np.array(options, dtype=object)
        self.size = len(options)

    def at(self, pos):
        return self.options[pos]


class _Concat(_Node):
    """Several sequences one after the other (a character set ``[...]``, repeat counts)."""

    def __init__(self, parts: list[_Node]) -> None:
        self.parts = [p for p in parts if p.size]
        self.size = min(_BIG, sum(p.size for p in self.parts))

    def at(self, pos):
        out = np.empty(len(pos), dtype=object)
        start = 0
        for part in self.parts:
            inside = (pos >= start) & (pos < start + part.size)
            if inside.any():
                out[inside] = part.at(pos[inside] - start)
            start = min(_BIG, start + part.size)
        return out


class _Product(_Node):
    """Strings made of one string of each part, the last part varying fastest (RDT's order)."""

    def __init__(self, parts: list[_Node]) -> None:
        self.parts = parts
        size = 1
        for p in parts:
            size = min(_BIG, size * p.size)
        self.size = size

    def at(self, pos):
        rest = pos.astype(np.int64)
        pieces = []
        for part in reversed(self.parts):
            if part.size >= _BIG:
                digit, rest = rest, np.zeros_like(rest)
            else:
                digit, rest = rest % part.size, rest // part.size
            pieces.append(part.at(digit))
        out = np.full(len(pos), '', dtype=object)
        for piece in reversed(pieces):
            out = out + piece
        return out


def _node(op, args) -> _Node:
    if op == _parser.LITERAL:
        return _Choice([chr(args)])
    if op == _parser.RANGE:
        return _Choice([chr(c) for c in range(args[0], args[1] + 1)])
    if op == _parser.CATEGORY:
        return _Choice(_CATEGORIES[args])
    if op == _parser.ANY:
        return _Choice(list(string.printable))
    if op == _parser.IN:
        return _Concat([_node(o, a) for o, a in args])
    if op == _parser.SUBPATTERN:
        return _pattern(args[3])
    if op == _parser.MAX_REPEAT:
        low, high, sub = args
        if high == _parser.MAXREPEAT:
            high = 16  # RDT's max_repeat
        item = _pattern(sub)
        # RDT enumerates every count from low to high (skipping 0), each count in full.
        return _Concat([_Product([item] * n) for n in range(max(low, 1), high + 1)])
    raise UnsupportedKey(f'regex element {op} is not supported')


def _pattern(parsed) -> _Node:
    return _Product([_node(op, args) for op, args in parsed if op != _parser.AT])


def regex_size(regex: str) -> int:
    """How many distinct strings RDT's generator yields for ``regex`` (capped at 2**62)."""
    return _pattern(_parser.parse(regex, flags=_parser.SRE_FLAG_UNICODE)).size


def regex_strings(regex: str, positions: np.ndarray) -> np.ndarray:
    """The strings at ``positions`` of RDT's enumeration of ``regex`` (object array)."""
    node = _pattern(_parser.parse(regex, flags=_parser.SRE_FLAG_UNICODE))
    positions = np.asarray(positions, dtype=np.int64)
    if len(positions) and int(positions.max()) >= node.size:
        raise UnsupportedKey(f'the regex {regex!r} matches only {node.size} distinct strings')
    return node.at(positions)


_MULTIPLIERS = (1_000_003, 999_983, 1_000_033)  # primes near 2**20: no int64 overflow below 2**42


def scramble(positions: np.ndarray, n: int) -> np.ndarray:
    """A fixed permutation of ``0..n-1`` (affine, multiplier coprime to ``n``), by position;
    ``n`` at most ``2**42``."""
    a = next(m for m in _MULTIPLIERS if n % m)
    return (np.asarray(positions, dtype=np.int64) * a + n // 2) % max(n, 1)


def _bothify(text: str, letters: str) -> _Node:
    """Faker's ``bothify`` template as a sequence: ``#`` a digit, ``%`` 1-9, ``?`` a letter."""
    parts = []
    for c in text:
        if c in '!@':
            raise UnsupportedKey(f'bothify placeholder {c!r} (an optional character) is not supported')
        parts.append(_Choice(list(string.digits) if c == '#' else list('123456789') if c == '%'
                             else list(letters) if c == '?' else [c]))
    return _Product(parts)


class PositionalKeys:
    """The key column of one table, computed by row position.

    Built from the table's fitted RDT key transformer:

    * ``RegexGenerator``: the regex's strings in RDT's order (scrambled as RDT's
      ``generation_order`` says);
    * ``IndexGenerator``: ``prefix + (start + i) + suffix``;
    * ``AnonymizedFaker`` drawing unique ``random_int`` (SDV's default for integer keys) or
      ``bothify`` templates (its default for text keys): distinct values of the same range
      or template, scrambled. An integer range smaller than the table is widened (with
      a ``widened`` note), where one process would run out of unique values.

    Raises :class:`UnsupportedKey` with the reason for any other generator.
    """

    def __init__(self, transformer, n_rows: int) -> None:
        name = type(transformer).__name__
        self.n_rows = n_rows
        self.node = self.counter = self.span = None
        self.widened = False
        self.scrambled = getattr(transformer, 'generation_order', 'alphanumeric') == 'scrambled'
        if name == 'RegexGenerator':
            self.node = _pattern(_parser.parse(transformer.regex_format, flags=_parser.SRE_FLAG_UNICODE))
            what = f'its regex_format {transformer.regex_format!r}'
            self.spread = n_rows  # RDT draws the first n strings, then shuffles them
        elif name in ('IndexGenerator', 'IDGenerator'):  # IDGenerator: its older name
            self.counter = (transformer.prefix or '', transformer.starting_value,
                            transformer.suffix or '')
            return
        elif name == 'AnonymizedFaker' and transformer.function_name in ('random_int', 'bothify'):
            kwargs = transformer.function_kwargs or {}
            self.scrambled = True
            if transformer.function_name == 'random_int':
                low, high = int(kwargs.get('min', 0)), int(kwargs.get('max', 9999))
                self.widened = n_rows > high - low + 1
                self.span = (low, min(max(high - low + 1, n_rows), 1 << 42))
                return
            self.node = _bothify(kwargs.get('text', '## ??'),
                                 kwargs.get('letters', string.ascii_letters))
            what = f"its template {kwargs.get('text', '## ??')!r}"
            # Faker draws anywhere in the template's space: spread the keys over (most of) it.
            self.spread = max(n_rows, min(self.node.size, 1 << 42))
        else:
            function = getattr(transformer, 'function_name', None)
            raise UnsupportedKey(f'its key is generated by {name}' + (f'.{function}' if function else '')
                                 + ', which cannot be addressed by row position (a regex_format, '
                                 'an integer key or an sdtype id without a regex can)')
        if n_rows > self.node.size:
            raise UnsupportedKey(f'{what} makes only {self.node.size} distinct keys and the '
                                 f'sample has {n_rows} rows')

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        """The keys of rows ``positions`` (global row numbers of the table)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.span is not None:
            low, size = self.span
            return low + scramble(positions, size)
        if self.counter is not None:
            prefix, start, suffix = self.counter
            # As IndexGenerator: text, cast to the column's dtype like every generated key.
            return prefix + (positions + start).astype(str).astype(object) + suffix
        if self.scrambled:
            positions = scramble(positions, self.spread)
        return self.node.at(positions)
