"""Python-like programs of Learning to Execute (Zaremba & Sutskever 2014), generated and evaluated.

The grammar follows the original generator (``wojciechz/learning_to_execute``,
``utils/operations.lua`` and ``data.lua``), rewritten here from its description:

* a *difficulty* is a pair (length, nesting). ``length`` bounds the constants: each constant is
  drawn uniformly from 1..10**length (so it has up to ``length`` digits, 10**length itself being the
  one exception, as in the original's ``random(10^length)``); the small multiplier and the loop
  count are drawn from 1..4·length. ``nesting`` is the number of operations composed;
* a program is built by ``nesting`` operations, each drawn uniformly from six kinds. Each takes
  its operands from a stack (the previous operation's result, when there is one) or else draws
  fresh constants, puts its operands in a random order, and pushes its own result:

  ========== ============================================ ===================================
  kind        expression                                   code lines added
  ========== ============================================ ===================================
  pair        ``(a+b)`` or ``(a-b)``                       –
  smallmul    ``(a*k)`` or ``(k*a)``, k in 1..4·length     –
  equality    ``a``                                        –
  vars        ``(v+b)`` or ``(v-b)``                       ``v=a;``
  loop        ``v``                                        ``v=a``, ``for x in range(k):v+=b``
                                                           (or ``-=``), k in 1..4·length
  ifstat      ``(c if a>b else d)`` (or ``<``)             –
  ========== ============================================ ===================================

  Variables are distinct letters, a random permutation of ``a``..``j`` per program;
* the text is the code lines, each followed by ``#``, then ``print(<expression>)``; a training
  *sample* is ``<program>@<output>.`` where the output is the printed integer (a leading ``-`` when
  negative) and ``.`` ends it.

Every random draw asks a *difficulty sampler* (a callable returning ``(length, nesting)``) for the
current difficulty, like the original's ``hardness()``: ``nesting`` comes from the first call of
a program, and each constant, multiplier and loop count calls it again. With the "combined"
curriculum a program therefore mixes constants of its current length with some of a random one.

Programs are trees (:class:`Const`, :class:`Var`, :class:`BinOp`, :class:`IfElse`; statements
:class:`Assign` and :class:`Loop`). :func:`evaluate` executes a tree with integer arithmetic of its
own; nothing here runs Python's ``exec``/``eval``. :func:`parse` reads program text back into a tree
(for hand-written programs and the round-trip tests); :func:`render` writes it.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Assign",
    "BinOp",
    "Const",
    "DifficultySampler",
    "Expr",
    "IfElse",
    "Loop",
    "OPERATIONS",
    "ParseError",
    "Program",
    "Var",
    "VOCAB",
    "evaluate",
    "generate_program",
    "parse",
    "render",
    "sample_text",
    "split_of",
]

VOCAB = "\0 #()*+-.:;<=>@0123456789abcdefghijklmnopqrstuvwxyz"
"""Every character a sample can hold; index 0 (``\\0``) is padding."""

VARIABLES = "abcdefghij"
LOOP_VARIABLE = "x"

DifficultySampler = Callable[[], tuple[int, int]]
"""Returns a ``(length, nesting)`` difficulty each time it is called."""


# ----------------------------------------------------------------------------------------------
# the tree


@dataclass(frozen=True)
class Const:
    value: int


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class BinOp:
    op: str  # "+", "-" or "*"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class IfElse:
    """``(then if left <cmp> right else otherwise)``."""

    then: Expr
    left: Expr
    cmp: str  # "<" or ">"
    right: Expr
    otherwise: Expr


Expr = Const | Var | BinOp | IfElse


@dataclass(frozen=True)
class Assign:
    name: str
    value: Expr
    semicolon: bool = False  # the original writes ``v=a;`` for vars, ``v=a`` before a loop


@dataclass(frozen=True)
class Loop:
    """``for x in range(count):name<op>=value``."""

    count: int
    name: str
    op: str  # "+" or "-"
    value: Expr


Statement = Assign | Loop


@dataclass(frozen=True)
class Program:
    statements: tuple[Statement, ...]
    output: Expr  # what ``print(...)`` prints


# ----------------------------------------------------------------------------------------------
# evaluation and text


def _value(expr: Expr, env: dict[str, int]) -> int:
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Var):
        if expr.name not in env:
            raise ValueError(f"variable {expr.name!r} used before assignment")
        return env[expr.name]
    if isinstance(expr, BinOp):
        left, right = _value(expr.left, env), _value(expr.right, env)
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            return left * right
        raise ValueError(f"unknown operator {expr.op!r}")
    if isinstance(expr, IfElse):
        left, right = _value(expr.left, env), _value(expr.right, env)
        holds = left < right if expr.cmp == "<" else left > right
        return _value(expr.then if holds else expr.otherwise, env)
    raise TypeError(f"not an expression: {expr!r}")


def evaluate(program: Program) -> int:
    """The integer the program prints, computed from its tree."""
    env: dict[str, int] = {}
    for statement in program.statements:
        if isinstance(statement, Assign):
            env[statement.name] = _value(statement.value, env)
        else:
            if statement.name not in env:
                raise ValueError(f"loop updates {statement.name!r} before assignment")
            for _ in range(statement.count):  # the body is re-evaluated each iteration
                step = _value(statement.value, env)
                env[statement.name] += step if statement.op == "+" else -step
    return _value(program.output, env)


def _expr_text(expr: Expr) -> str:
    if isinstance(expr, Const):
        return str(expr.value)
    if isinstance(expr, Var):
        return expr.name
    if isinstance(expr, BinOp):
        return f"({_expr_text(expr.left)}{expr.op}{_expr_text(expr.right)})"
    return (
        f"({_expr_text(expr.then)} if {_expr_text(expr.left)}{expr.cmp}"
        f"{_expr_text(expr.right)} else {_expr_text(expr.otherwise)})"
    )


def _statement_text(statement: Statement) -> str:
    if isinstance(statement, Assign):
        return f"{statement.name}={_expr_text(statement.value)}{';' if statement.semicolon else ''}"
    return (
        f"for {LOOP_VARIABLE} in range({statement.count}):"
        f"{statement.name}{statement.op}={_expr_text(statement.value)}"
    )


def render(program: Program) -> str:
    """The program's text: each code line followed by ``#``, then ``print(...)``."""
    lines = "".join(_statement_text(s) + "#" for s in program.statements)
    return f"{lines}print({_expr_text(program.output)})"


def sample_text(program: Program) -> tuple[str, str]:
    """``(input, output)``: ``"<program>@"`` and the characters to predict, ``"<value>."``."""
    return render(program) + "@", f"{evaluate(program)}."


def split_of(text: str) -> int:
    """0, 1 or 2 (train, valid, test) from a hash of a sample's text, as the original splits."""
    return zlib.crc32(text.encode()) % 3


# ----------------------------------------------------------------------------------------------
# parsing (hand-written programs, round trips)


class ParseError(ValueError):
    """Text that is not a program of this grammar."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def error(self, what: str) -> ParseError:
        return ParseError(f"expected {what} at position {self.pos} of {self.text!r}")

    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def take(self, literal: str) -> None:
        if not self.peek(literal):
            raise self.error(repr(literal))
        self.pos += len(literal)

    def integer(self) -> int:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos].isdigit():
            self.pos += 1
        if start == self.pos:
            raise self.error("an integer")
        return int(self.text[start : self.pos])

    def variable(self) -> str:
        if self.pos < len(self.text) and self.text[self.pos] in VARIABLES:
            self.pos += 1
            return self.text[self.pos - 1]
        raise self.error("a variable")

    def expr(self) -> Expr:
        if self.peek("("):
            self.take("(")
            first = self.expr()
            if self.peek(" if "):
                self.take(" if ")
                left = self.expr()
                cmp = self.text[self.pos : self.pos + 1]
                if cmp not in ("<", ">"):
                    raise self.error("'<' or '>'")
                self.pos += 1
                right = self.expr()
                self.take(" else ")
                otherwise = self.expr()
                self.take(")")
                return IfElse(first, left, cmp, right, otherwise)
            op = self.text[self.pos : self.pos + 1]
            if op not in ("+", "-", "*"):
                raise self.error("an operator")
            self.pos += 1
            second = self.expr()
            self.take(")")
            return BinOp(op, first, second)
        if self.pos < len(self.text) and self.text[self.pos].isdigit():
            return Const(self.integer())
        return Var(self.variable())

    def statement(self) -> Statement:
        if self.peek("for "):
            self.take(f"for {LOOP_VARIABLE} in range(")
            count = self.integer()
            self.take("):")
            name = self.variable()
            op = self.text[self.pos : self.pos + 1]
            if op not in ("+", "-"):
                raise self.error("'+=' or '-='")
            self.pos += 1
            self.take("=")
            return Loop(count, name, op, self.expr())
        name = self.variable()
        self.take("=")
        value = self.expr()
        semicolon = self.peek(";")
        if semicolon:
            self.take(";")
        return Assign(name, value, semicolon)

    def program(self) -> Program:
        statements = []
        while not self.peek("print("):
            statements.append(self.statement())
            self.take("#")
        self.take("print(")
        output = self.expr()
        self.take(")")
        if self.pos != len(self.text):
            raise self.error("the end of the program")
        return Program(tuple(statements), output)


def parse(text: str) -> Program:
    """Read program text (lines separated by ``#``, ending in ``print(...)``) into a tree.

    Raises:
        ParseError: the text is not a program of this grammar.
    """
    return _Parser(text).program()


# ----------------------------------------------------------------------------------------------
# generation


class _Builder:
    """The state of one program under construction: the stack, the code, the free variables."""

    def __init__(self, rng: random.Random, difficulty: DifficultySampler) -> None:
        self.rng, self.difficulty = rng, difficulty
        self.stack: list[Expr] = []
        self.code: list[Statement] = []
        self.free = rng.sample(VARIABLES, len(VARIABLES))

    def length(self) -> int:
        return self.difficulty()[0]

    def operand(self) -> Expr:
        if self.stack:
            return self.stack.pop()
        return Const(self.rng.randint(1, 10 ** self.length()))

    def operands(self, count: int) -> list[Expr]:
        """``count`` operands, drawn in turn and placed in a random order."""
        drawn = [self.operand() for _ in range(count)]
        order = self.rng.sample(range(count), count)
        placed: list[Expr] = [Const(0)] * count
        for value, slot in zip(drawn, order, strict=True):
            placed[slot] = value
        return placed

    def small(self) -> int:
        return self.rng.randint(1, 4 * self.length())

    def variable(self) -> str:
        return self.free.pop(0)


def _pair(b: _Builder) -> Expr:
    left, right = b.operands(2)
    return BinOp(b.rng.choice("+-"), left, right)


def _smallmul(b: _Builder) -> Expr:
    operand = b.operand()
    factor = Const(b.small())
    return BinOp("*", operand, factor) if b.rng.random() < 0.5 else BinOp("*", factor, operand)


def _equality(b: _Builder) -> Expr:
    return b.operand()


def _vars(b: _Builder) -> Expr:
    name = b.variable()
    first, second = b.operands(2)
    b.code.append(Assign(name, first, semicolon=True))
    return BinOp(b.rng.choice("+-"), Var(name), second)


def _loop(b: _Builder) -> Expr:
    name = b.variable()
    start, step = b.operands(2)
    count = b.small()
    b.code.append(Assign(name, start))
    b.code.append(Loop(count, name, b.rng.choice("+-"), step))
    return Var(name)


def _ifstat(b: _Builder) -> Expr:
    left, right, then, otherwise = b.operands(4)
    return IfElse(then, left, b.rng.choice("<>"), right, otherwise)


OPERATIONS: dict[str, Callable[[_Builder], Expr]] = {
    "pair": _pair,
    "smallmul": _smallmul,
    "equality": _equality,
    "vars": _vars,
    "loop": _loop,
    "ifstat": _ifstat,
}
"""The six operation kinds, drawn uniformly; each consumes the stack and returns its result."""


def generate_program(rng: random.Random, difficulty: DifficultySampler) -> Program:
    """One program: ``nesting`` (from the sampler's first call) operations composed on a stack.

    Args:
        rng: the only source of randomness (with the sampler's own): same state, same program.
        difficulty: called for the nesting once, then for the length of every draw.
    """
    builder = _Builder(rng, difficulty)
    nesting = difficulty()[1]
    if nesting < 1:
        raise ValueError(f"nesting must be >= 1, got {nesting}")
    kinds = list(OPERATIONS.values())
    for _ in range(nesting):
        builder.stack.append(rng.choice(kinds)(builder))
    return Program(tuple(builder.code), builder.stack.pop())
