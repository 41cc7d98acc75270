"""Go's text/template, the part Prometheus alert templates use, as a parser and an interpreter.

Actions: ``{{ pipeline }}``, ``{{ if }}`` / ``{{ else if }}`` / ``{{ else }}`` / ``{{ end }}``,
``{{ range $k, $v := … }}`` (maps in key order, lists, with ``else``), ``{{ with }}``,
variables (``$x := …``, ``$x = …``), pipes, parentheses, ``{{- trim -}}`` and ``{{/* comments */}}``.
Values: strings ("…" and `…`), numbers (ints and floats kept apart, as Go compares them), true,
false, ``.``, ``.Field`` and ``$var.key`` chains. Functions are given by the caller (``FUNCS``):
an unknown one is refused at parse time, as Go does. Missing map keys are "" (missingkey=zero).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eduops.errors import UsageError


class TemplateError(UsageError):
    pass


@dataclass(frozen=True)
class Unsupported:
    """A function Prometheus has that eduops names instead of running (e.g. ``query``)."""

    why: str


# -- lexing

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<char>'(?:[^'\\]|\\.)')
    | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?))
    | (?P<declare>:=)
    | (?P<assign>=)
    | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    | (?P<field>(?:\.[A-Za-z0-9_]+)+)
    | (?P<dot>\.)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[()|,])
    )""",
    re.X | re.S,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"template: unexpected {text[pos : pos + 10]!r} in {{{{{text}}}}}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


# -- the tree


@dataclass
class Pipeline:
    decl: list[str]
    assign: bool
    commands: list[list[tuple[str, Any]]]


@dataclass
class Block:
    kind: str  # if range with
    pipe: Pipeline
    body: list[Any] = field(default_factory=list)
    orelse: list[Any] = field(default_factory=list)


@dataclass
class Template:
    nodes: list[Any]

    def render(
        self, data: Any, variables: dict[str, Any], funcs: dict[str, Callable[..., Any]], show: Callable[[Any], str]
    ) -> str:
        out: list[str] = []
        _run(self.nodes, _Scope(data, [dict(variables, **{"$": data})], funcs, show), out)
        return "".join(out)


def _parse_pipeline(tokens: list[tuple[str, str]], funcs: dict[str, Any]) -> Pipeline:
    decl: list[str] = []
    assign = False
    ops = [k for k, _ in tokens]
    if "declare" in ops or "assign" in ops:
        i = ops.index("declare") if "declare" in ops else ops.index("assign")
        left = [v for k, v in tokens[:i] if k == "var"]
        if not left or any(k not in ("var", "punct") for k, _ in tokens[:i]):
            raise TemplateError("template: only $variables can be declared or assigned")
        decl, assign, tokens = left, ops[i] == "assign", tokens[i + 1 :]
    commands: list[list[tuple[str, Any]]] = [[]]
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "punct" and value == "|":
            commands.append([])
        elif kind == "punct" and value == "(":
            depth, j = 1, i + 1
            while j < len(tokens) and depth:
                depth += {"(": 1, ")": -1}.get(tokens[j][1], 0) if tokens[j][0] == "punct" else 0
                j += 1
            if depth:
                raise TemplateError("template: unclosed parenthesis")
            commands[-1].append(("pipe", _parse_pipeline(tokens[i + 1 : j - 1], funcs)))
            i = j
            continue
        elif kind == "punct":
            raise TemplateError(f"template: unexpected {value!r}")
        elif kind == "ident":
            if value in ("true", "false"):
                commands[-1].append(("lit", value == "true"))
            elif value == "nil":
                commands[-1].append(("lit", None))
            elif value not in funcs:
                raise TemplateError(f'template: function "{value}" not defined')
            elif isinstance(funcs[value], Unsupported):
                raise TemplateError(f"template: {value} is not supported by eduops: {funcs[value].why}")
            else:
                commands[-1].append(("func", value))
        elif kind == "str":
            commands[-1].append(("lit", _unquote(value)))
        elif kind == "raw":
            commands[-1].append(("lit", value[1:-1]))
        elif kind == "char":
            commands[-1].append(("lit", ord(_unquote('"' + value[1:-1] + '"'))))
        elif kind == "num":
            commands[-1].append(("lit", _number(value)))
        else:
            commands[-1].append((kind, value))
        i += 1
    if any(not c for c in commands):
        raise TemplateError("template: missing value in a pipeline")
    return Pipeline(decl, assign, commands)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _number(text: str) -> int | float:
    if re.fullmatch(r"[-+]?0[xX][0-9a-fA-F]+", text):
        return int(text, 16)
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    return float(text)


def parse(text: str, funcs: dict[str, Any]) -> Template:
    """The template's tree; a TemplateError says what Go's parser would refuse."""
    root: list[Any] = []
    stack: list[tuple[Block | None, list[Any]]] = [(None, root)]
    pos = 0
    pieces: list[tuple[str, str]] = []
    for m in _ACTION.finditer(text):
        pieces.append(("text", text[pos : m.start()]))
        if m.group(1):
            pieces[-1] = ("text", pieces[-1][1].rstrip())
        pieces.append(("action", m.group(2)))
        pos = m.end()
        if m.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip())
    pieces.append(("text", text[pos:]))
    if "{{" in "".join(t for k, t in pieces if k == "text"):
        raise TemplateError("template: unclosed action {{ … }}")

    for kind, body in pieces:
        target = stack[-1][1]
        if kind == "text":
            if body:
                target.append(body)
            continue
        inner = body.strip()
        if inner.startswith("/*"):
            if not inner.endswith("*/"):
                raise TemplateError("template: unclosed comment")
            continue
        tokens = _tokens(inner)
        if not tokens:
            raise TemplateError("template: missing value for command")
        head = tokens[0][1] if tokens[0][0] == "ident" else ""
        if head in ("if", "range", "with"):
            block = Block(head, _parse_pipeline(tokens[1:], funcs))
            target.append(block)
            stack.append((block, block.body))
        elif head == "else":
            open_block = stack[-1][0]
            if open_block is None or stack[-1][1] is open_block.orelse:
                raise TemplateError("template: unexpected {{else}}")
            if len(tokens) > 1 and tokens[1] == ("ident", "if") and open_block.kind == "if":
                nested = Block("if", _parse_pipeline(tokens[2:], funcs))
                open_block.orelse.append(nested)
                stack[-1] = (nested, nested.body)  # its {{end}} closes the whole chain
            elif len(tokens) > 1:
                raise TemplateError("template: {{else}} takes nothing after it here")
            else:
                stack[-1] = (open_block, open_block.orelse)
        elif head == "end":
            if len(stack) == 1:
                raise TemplateError("template: unexpected {{end}}")
            stack.pop()
        elif head in ("define", "template", "block", "break", "continue"):
            raise TemplateError(f"template: {{{{{head}}}}} is not supported in alert templates by eduops")
        else:
            target.append(_parse_pipeline(tokens, funcs))
    if len(stack) > 1:
        unclosed = stack[-1][0]
        kind = unclosed.kind if unclosed else ""
        raise TemplateError(f"template: unexpected EOF: {{{{{kind}}}}} has no {{{{end}}}}")
    return Template(root)


# -- running


@dataclass
class _Scope:
    dot: Any
    frames: list[dict[str, Any]]
    funcs: dict[str, Callable[..., Any]]
    show: Callable[[Any], str]

    def lookup(self, name: str) -> Any:
        for frame in reversed(self.frames):
            if name in frame:
                return frame[name]
        raise TemplateError(f"template: undefined variable: {name}")

    def set(self, name: str, value: Any, assign: bool) -> None:
        if assign:
            for frame in reversed(self.frames):
                if name in frame:
                    frame[name] = value
                    return
            raise TemplateError(f"template: undefined variable: {name}")
        self.frames[-1][name] = value


def truth(value: Any) -> bool:
    """Go's truth: false, 0, nil and empty strings, maps and lists are false."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | dict | list | tuple):
        return bool(value)
    return True


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name, "")
    if value is None:
        raise TemplateError(f"template: nil pointer evaluating .{name}")
    if hasattr(value, name):
        return getattr(value, name)
    raise TemplateError(f"template: can't evaluate field {name} in type {type(value).__name__}")


def _operand(scope: _Scope, kind: str, value: Any) -> Any:
    if kind == "lit":
        return value
    if kind == "dot":
        return scope.dot
    if kind == "pipe":
        return _pipeline(scope, value)
    if kind == "var":
        name, *fields = value.split(".")
        current = scope.lookup(name)
    elif kind == "field":
        current, fields = scope.dot, value.split(".")[1:]
    else:
        raise TemplateError(f"template: can't use {value!r} here")
    for f in fields:
        current = _field(current, f)
    return current


def _command(scope: _Scope, command: list[tuple[str, Any]], piped: list[Any]) -> Any:
    kind, value = command[0]
    if kind == "func":
        name = value
        if name in ("and", "or"):  # Go 1.18+: short-circuit, returning the deciding value
            result: Any = None
            lazy = [(lambda k=k, v=v: _operand(scope, k, v)) for k, v in command[1:]]
            for get in lazy + [(lambda p=p: p) for p in piped]:
                result = get()
                if truth(result) != (name == "and"):
                    return result
            return result
        args = [_operand(scope, k, v) for k, v in command[1:]] + piped
        try:
            return scope.funcs[name](*args)
        except TemplateError:
            raise
        except UsageError as exc:
            raise TemplateError(f"template: {name}: {exc.message}") from None
        except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError) as exc:
            raise TemplateError(f"template: error calling {name}: {exc}") from None
    if len(command) > 1 or piped:
        raise TemplateError(f"template: can't give argument to non-function {value!r}")
    return _operand(scope, kind, value)


def _pipeline(scope: _Scope, pipe: Pipeline) -> Any:
    value: Any = None
    for i, command in enumerate(pipe.commands):
        value = _command(scope, command, [value] if i else [])
    for name in pipe.decl[:1] if len(pipe.decl) == 1 else []:
        scope.set(name, value, pipe.assign)
    return value


def _run(nodes: list[Any], scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Pipeline):
            value = _pipeline(scope, node)
            if not node.decl:
                out.append(scope.show(value))
        elif node.kind == "range":
            _range(node, scope, out)
        else:
            scope.frames.append({})
            value = _pipeline(scope, node.pipe)
            if truth(value):
                saved = scope.dot
                if node.kind == "with":
                    scope.dot = value
                _run(node.body, scope, out)
                scope.dot = saved
            else:
                _run(node.orelse, scope, out)
            scope.frames.pop()


def _range(node: Block, scope: _Scope, out: list[str]) -> None:
    pipe = node.pipe
    value = _pipeline(scope, Pipeline([], False, pipe.commands))
    if isinstance(value, dict):
        items = [(k, value[k]) for k in sorted(value)]
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [(i, i) for i in range(value)]
    elif value is None:
        items = []
    else:
        raise TemplateError(f"template: range can't iterate over {scope.show(value)}")
    if not items:
        _run(node.orelse, scope, out)
        return
    saved = scope.dot
    for key, item in items:
        frame: dict[str, Any] = {}
        if len(pipe.decl) == 1:
            frame[pipe.decl[0]] = item
        elif len(pipe.decl) == 2:
            frame[pipe.decl[0]], frame[pipe.decl[1]] = key, item
        scope.frames.append(frame)
        scope.dot = item
        _run(node.body, scope, out)
        scope.frames.pop()
    scope.dot = saved
