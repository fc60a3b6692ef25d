"""Safe YAML loading that remembers where every value was written.

Scenario files are written by hand, so a validation error must point at the line that caused it.
`load_file` and `load_text` return plain Python data (dicts, lists, str, int, float, bool, None and
dates) together with the 1-based line of every mapping key and sequence item, keyed by the path of
keys and list indices that leads to it.

Safety, because a scenario file may come from anywhere:
- only plain data is built: the loader is PyYAML's safe loader (its text parsed by libyaml when
  PyYAML has it), and tags other than the standard scalar, sequence and mapping tags are refused
  (no Python objects, `!!binary` or sets);
- the file may be at most `MAX_BYTES` long and nest at most `MAX_DEPTH` levels deep;
- aliases may expand to at most `MAX_ALIAS_NODES` nodes in all, so a "billion laughs" document
  fails at once with a one-line message instead of eating memory;
- a key written twice in one mapping is an error (YAML would silently keep the last one);
- merge keys (`<<`) are refused: they can also blow up, and scenario files have `extends` instead.

Every problem raises `YamlError`, whose text is `FILE:LINE: what is wrong`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

MAX_BYTES = 1_000_000
MAX_DEPTH = 50
MAX_ALIAS_NODES = 10_000
#: Whether PyYAML has libyaml, whose parser reads a text several times faster than PyYAML's own.
_LIBYAML = yaml.__with_libyaml__

Path_ = tuple[Any, ...]  # a path of mapping keys (str, ...) and list indices (int)

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)


class YamlError(ValueError):
    """A file that cannot be read as plain YAML data. `str()` gives `FILE:LINE: message`."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Located:
    """Loaded YAML data and the line (1-based) of every key and item, by path.

    `lines[()]` is the line where the document's top-level value starts.
    """

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        return nearest_line(self.lines, path)


def nearest_line(lines: dict[Path_, Any], path: Path_) -> Any:
    """`lines[path]`, falling back to the longest prefix of `path` that is in `lines`."""
    path = tuple(path)
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def load_file(path: str | Path, max_bytes: int = MAX_BYTES) -> Located:
    """Read and parse a YAML file; its name in messages is `str(path)`."""
    label = str(path)
    try:
        # A FIFO or device would block `open` or never end: only regular files are read.
        if os.path.isdir(path):
            raise IsADirectoryError
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise YamlError(label, 1, "is not a regular file")
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except YamlError:
        raise
    except FileNotFoundError:
        raise YamlError(label, 1, "file not found") from None
    except IsADirectoryError:
        raise YamlError(label, 1, "is a folder, not a file") from None
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the name
        reason = getattr(error, "strerror", None) or error
        raise YamlError(label, 1, f"cannot be read ({reason})") from None
    if len(raw) > max_bytes:
        raise YamlError(label, 1, f"file is larger than the limit of {max_bytes:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise YamlError(label, line, "file is not UTF-8 text") from None
    return load_text(text, label, max_bytes=max_bytes)


_FAST_SAFE_LOADER = yaml.CSafeLoader if _LIBYAML else yaml.SafeLoader


def read_data_file(path: str | Path) -> Any:
    """A YAML file of the project's own (calibration data), as plain data without lines: PyYAML's
    safe loader, its text parsed by libyaml when PyYAML has it (several times faster)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_FAST_SAFE_LOADER)


def load_text(text: str, file: str = "<string>", max_bytes: int = MAX_BYTES) -> Located:
    """Parse YAML text. `file` is only used in messages."""
    if len(text.encode("utf-8", errors="surrogatepass")) > max_bytes:
        raise YamlError(file, 1, f"text is larger than the limit of {max_bytes:,} bytes")
    loader = None
    try:
        try:
            loader = _Loader(text, file)
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise YamlError(file, line, f"invalid YAML: {_yaml_problem(error)}") from None
        except yaml.reader.ReaderError as error:
            raise _forbidden_character(file, _line_at(text, error.position)) from None
        except UnicodeEncodeError as error:  # a lone surrogate: libyaml reads UTF-8 only
            raise _forbidden_character(file, text.count("\n", 0, error.start) + 1) from None
        except yaml.YAMLError as error:
            raise YamlError(file, 1, f"invalid YAML: {error}") from None
        if node is None:
            return Located(None, {(): 1})
        return _Builder(loader, file).build(node)
    finally:
        if loader is not None:
            loader.dispose()


def _forbidden_character(file: str, line: int) -> YamlError:
    return YamlError(file, line, "invalid YAML: the text contains a forbidden character")


def _line_at(text: str, position: int) -> int:
    """The line of a reader error's position: a byte offset into the text's UTF-8 when libyaml
    read it, a character offset when PyYAML's own reader did."""
    if not _LIBYAML:
        return text.count("\n", 0, max(position, 0)) + 1
    return text.encode("utf-8", errors="surrogatepass").count(b"\n", 0, max(position, 0)) + 1


def _yaml_problem(error: yaml.MarkedYAMLError) -> str:
    """PyYAML's message on one line, without its own copy of the position."""
    parts = [error.context, error.problem] if error.context else [error.problem]
    return "; ".join(str(part) for part in parts if part) or "cannot be parsed"


if _LIBYAML:

    class _SafeLoader(yaml.composer.Composer, yaml.cyaml.CSafeLoader):
        """A safe loader whose text is scanned and parsed by libyaml (about eight times faster
        than PyYAML's Python parser), its nodes composed by PyYAML's Python composer, which
        `_Loader` extends."""

        def __init__(self, text: str) -> None:
            yaml.cyaml.CSafeLoader.__init__(self, text)
            yaml.composer.Composer.__init__(self)

else:
    _SafeLoader = yaml.SafeLoader


class _Loader(_SafeLoader):
    """A safe loader that limits nesting while composing and records where aliases are used."""

    # YAML 1.1 (PyYAML) reads `1e9` as text; scenario authors mean a number, as YAML 1.2 does.
    # Copy the resolver table deeply: add_implicit_resolver would append to SafeLoader's lists.
    yaml_implicit_resolvers: ClassVar[dict[str, list[Any]]] = {
        key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.depth = 0
        self.alias_lines: dict[tuple[int, Any], int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) and parent is not None:
            # An alias node is shared with its anchor, so its own mark is the anchor's line;
            # remember where the alias itself was written.
            key = index if isinstance(index, int) else id(index)
            self.alias_lines[(id(parent), key)] = event.start_mark.line + 1
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YamlError(
                    self.file,
                    event.start_mark.line + 1,
                    f"nested more than {MAX_DEPTH} levels deep",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


_PLAIN_INTEGER = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)")
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


def _ambiguous_number(node: yaml.ScalarNode) -> str | None:
    """Why a number is refused: YAML 1.1 reads `010` as 8 (octal), `1:30` as 90 (base 60) and
    `0x1F` as 31, which a person writing a seed or a count rarely means. None if it is plain."""
    text = node.value.strip()
    if node.tag == _INT and not _PLAIN_INTEGER.fullmatch(text):
        if ":" in text:
            return f"{text} would read as a base-60 number; write the number itself, or quote text"
        if text.lstrip("+-")[:2].lower() in ("0x", "0b"):
            return f"{text}: write whole numbers in decimal digits (no 0x or 0b)"
        return (
            f"{text}: a leading zero would make it an octal number in YAML 1.1; write it "
            "without the leading zero, or in quotes if it is text"
        )
    if node.tag == _FLOAT and ":" in text:
        return f"{text} would read as a base-60 number; write the number itself, or quote text"
    return None


def implicit_resolvers() -> dict[str, list[Any]]:
    """The loader's rules for typing plain scalars; a dumper must quote by the same rules."""
    return {key: list(value) for key, value in _Loader.yaml_implicit_resolvers.items()}


class _Builder:
    """Turns the composed node graph into plain data, counting nodes reached through aliases."""

    def __init__(self, loader: _Loader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.visited: set[int] = set()
        self.active: set[int] = set()
        self.expanded = 0

    def build(self, root: yaml.Node) -> Located:
        self.lines[()] = root.start_mark.line + 1
        data = self.value(root, (), 1, False, root.start_mark.line + 1)
        return Located(data, self.lines)

    def fail(self, line: int, message: str) -> YamlError:
        return YamlError(self.file, line, message)

    def value(self, node: yaml.Node, path: Path_, depth: int, via_alias: bool, line: int) -> Any:
        if id(node) in self.active:
            raise self.fail(line, "an alias refers to a value that contains it (a loop)")
        if depth > MAX_DEPTH:
            raise self.fail(line, f"nested more than {MAX_DEPTH} levels deep (through aliases)")
        if id(node) in self.visited:
            via_alias = True  # a second visit can only come through an alias
        self.visited.add(id(node))
        if via_alias:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_NODES:
                raise self.fail(
                    line,
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} values "
                    "(a 'billion laughs' document?); write the values out instead",
                )
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, line)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self.sequence(node, path, depth, via_alias)
            return self.mapping(node, path, depth, via_alias)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, line: int) -> Any:
        if node.tag not in _SCALAR_TAGS:
            if node.tag == _MERGE:
                raise self.fail(line, "merge keys (<<) are not supported; use `extends`")
            raise self.fail(node.start_mark.line + 1, f"YAML tag {node.tag} is not allowed")
        problem = _ambiguous_number(node)
        if problem:
            raise self.fail(node.start_mark.line + 1, problem)
        try:
            return self.loader.construct_object(node)
        except yaml.MarkedYAMLError as error:
            line = node.start_mark.line + 1
            raise self.fail(line, f"invalid YAML: {_yaml_problem(error)}") from None
        except (ValueError, OverflowError):
            # e.g. an integer with more digits than Python converts
            raise self.fail(node.start_mark.line + 1, "number is too large") from None

    def sequence(self, node: yaml.SequenceNode, path: Path_, depth: int, via_alias: bool) -> list:
        if node.tag != _SEQ:
            raise self.fail(node.start_mark.line + 1, f"YAML tag {node.tag} is not allowed")
        items = []
        for index, item in enumerate(node.value):
            line = self.loader.alias_lines.get((id(node), index), item.start_mark.line + 1)
            item_path = (*path, index)
            self.lines.setdefault(item_path, line)
            items.append(self.value(item, item_path, depth + 1, via_alias, line))
        return items

    def mapping(self, node: yaml.MappingNode, path: Path_, depth: int, via_alias: bool) -> dict:
        if node.tag != _MAP:
            raise self.fail(node.start_mark.line + 1, f"YAML tag {node.tag} is not allowed")
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(
                    line, "a key must be a single word or number, not a list or mapping"
                )
            if key_node.tag == _MERGE:
                raise self.fail(line, "merge keys (<<) are not supported; use `extends`")
            key = self.scalar(key_node, line)
            if key in result:
                raise self.fail(
                    line, f"duplicate key {key!r} (first written on line {first_line[key]})"
                )
            first_line[key] = line
            key_path = (*path, key)
            self.lines.setdefault(key_path, line)
            value_line = self.loader.alias_lines.get((id(node), id(key_node)), line)
            result[key] = self.value(value_node, key_path, depth + 1, via_alias, value_line)
        return result
