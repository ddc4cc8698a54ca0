"""The YAML of `Pulumi.yaml` and `Pulumi.<stack>.yaml` as the Pulumi CLI's YAML library reads it,
with that library's limits, so a hostile file fails in milliseconds with one line.

The CLI decodes both files with gopkg.in/yaml.v3 v3.0.1 (pulumi/pulumi sdk/go.mod;
`mlinfra.config.pulumi_yaml` for its scalars). What it does with the costly parts of YAML:

- aliases: a `*name` is decoded again at every use, so nine anchors of nine aliases each (a
  "billion laughs") would expand to 9^9 values. yaml.v3 counts, as it decodes, every node and the
  nodes it reaches through an alias, and stops with "document contains excessive aliasing" once
  more than 100 alias-reached nodes among more than 1000 are over `allowedAliasRatio` of them
  (99% up to 400,000 decodes, down to 10% at 4,000,000); an alias inside its own anchor fails
  with "anchor 'x' value contains itself" (go-yaml/yaml v3 decode.go `unmarshal`, `alias`).
  PyYAML 6.0.4 (this project's parser) does not expand at all: its composer hands back the
  anchor's own node (yaml/composer.py `compose_node`), so the document holds shared objects, and
  the cost falls on whatever walks them later (the JSON the engine receives, the program's
  validation). The loader here replays yaml.v3's count on the composed document, before anything
  is built from it: what the CLI refuses is refused, what it accepts is read the same.
- nesting: yaml.v3 stops at 10,000 levels ("exceeded max depth of 10000", scannerc.go
  `max_flow_level`, `max_indents`). PyYAML recurses per level and the program's validation does
  too, so this loader stops at `MAX_DEPTH`, which is far below where Python's recursion limit
  turns into a RecursionError and far above what this project's files need.
- size: yaml.v3 has none. PyYAML's pure-Python scanner and composer take seconds for a file of a
  megabyte of short values, so `MAX_FILE_BYTES` refuses a file before it is read
  (`mlinfra.planner.stackfile`) and `MAX_NODES` stops composing a file of too many values.

Stricter than the CLI: a key set twice in one mapping is refused on purpose (the CLI keeps the
last, so a merge artifact would silently win), and PyYAML refuses an anchor defined twice, which
yaml.v3 allows (the later one wins); neither has a use in a stack file.
"""

import yaml

from mlinfra.config.pulumi_yaml import CliSafeLoader

MAX_DEPTH = 32
"""Nesting limit of a stack or project file, counted through aliases (the deepest this project's
files go is 6 levels)."""

MAX_FILE_BYTES = 256_000
"""A stack file is a few kilobytes (this project's largest YAML file, prerequisites.yaml, has 10 KB);
anything larger is refused before it is read. PyYAML scans a few hundred kilobytes a second in
pure Python, so this also bounds the time a refusal can take."""

MAX_NODES = 10_000
"""Values (scalars, lists, mappings) written in one file; an alias is one. This project's largest
file has under 200; PyYAML composes about 20,000 a second in pure Python (and keeps ~1 KB a
node), so a file of short values refused here costs under a second and a few MB."""

_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000
"""yaml.v3 decode.go `alias_ratio_range_low`, `alias_ratio_range_high`."""


class YamlRefused(ValueError):
    """A document refused for its shape (the message starts with the line it was refused at)."""


def _allowed_alias_ratio(decodes: int) -> float:
    """yaml.v3 decode.go `allowedAliasRatio`."""
    if decodes <= _ALIAS_RATIO_LOW:
        return 0.99
    if decodes >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decodes - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Alias(yaml.Node):
    """One use of an anchor, kept as a node of its own (as yaml.v3 keeps it) until the document's
    aliases are counted; then it is replaced by the anchor's node, as PyYAML would have."""

    def __init__(self, anchor: str, target: yaml.Node, start_mark, end_mark):
        super().__init__(target.tag, target.value, start_mark, end_mark)
        self.anchor = anchor
        self.target = target


class _AliasCount:
    """yaml.v3's decode of a document into an untyped value, counted without building it.

    yaml.v3 checks its ratio at every node it decodes. Inside an alias both counts grow by one per
    node, so the ratio only rises while the allowed ratio only falls: checking once at the end of
    each alias's expansion refuses exactly the documents yaml.v3 refuses. An anchor's expansion
    is counted once (`_expanded`), so nine levels of nine aliases cost nine sums, not 9^9 steps."""

    def __init__(self) -> None:
        self.decodes = 1  # the document node
        self.through_aliases = 0
        self._expanded: dict[int, tuple[int, int]] = {}  # anchor node -> (nodes decoded, height)
        self._expanding: set[int] = set()  # anchors being expanded (yaml.v3 `d.aliases`)

    def visit(self, node: yaml.Node, depth: int) -> None:
        """Count the document's own nodes, in yaml.v3's order, and each alias's expansion."""
        if depth > MAX_DEPTH:
            raise YamlRefused(f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        self.decodes += 1
        if isinstance(node, _Alias):
            size, height = self._expansion(node)
            size -= 1  # the alias node itself, counted above (outside any alias)
            self.decodes += size
            self.through_aliases += size
            self._check(node)
            if depth + height > MAX_DEPTH:
                raise YamlRefused(
                    f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep through "
                    f"alias *{_short(node.anchor)}"
                )
            return
        for child in _children(node):
            self.visit(child, depth + 1)

    def _expansion(self, node: yaml.Node, level: int = 0) -> tuple[int, int]:
        """The nodes yaml.v3 decodes for `node` (an alias: 1 plus its anchor's, with the aliases
        inside expanded) and its height; `level` is how deep the expansion has gone."""
        if level > MAX_DEPTH:
            raise YamlRefused(
                f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep through aliases"
            )
        if isinstance(node, _Alias):
            if id(node.target) in self._expanding:
                raise YamlRefused(
                    f"line {node.start_mark.line + 1}: anchor '{_short(node.anchor)}' value contains itself"
                )
            size, height = self._expansion(node.target, level)
            return 1 + size, height
        if id(node) not in self._expanded:
            self._expanding.add(id(node))
            size, height = 1, 0
            for child in _children(node):
                inner, inner_height = self._expansion(child, level + 1)
                size, height = size + inner, max(height, 1 + inner_height)
            self._expanding.discard(id(node))
            self._expanded[id(node)] = (size, height)
        return self._expanded[id(node)]

    def _check(self, node: yaml.Node) -> None:
        """yaml.v3 decode.go `unmarshal`'s test, after an alias's expansion."""
        if (
            self.through_aliases > 100
            and self.decodes > 1000
            and self.through_aliases / self.decodes > _allowed_alias_ratio(self.decodes)
        ):
            raise YamlRefused(
                f"line {node.start_mark.line + 1}: its aliases expand to too much ({self.through_aliases:,} "
                f"of {self.decodes:,} values would come from aliases); the Pulumi CLI refuses it too (yaml.v3: "
                "document contains excessive aliasing): write the values out"
            )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _inline_aliases(root: yaml.Node) -> None:
    """Replace every `_Alias` by its anchor's node: the document as PyYAML composes it."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            node.value = [item.target if isinstance(item, _Alias) else item for item in node.value]
            stack += node.value
        elif isinstance(node, yaml.MappingNode):
            node.value = [
                tuple(part.target if isinstance(part, _Alias) else part for part in pair)
                for pair in node.value
            ]
            stack += [part for pair in node.value for part in pair]


class CliYamlLoader(CliSafeLoader):
    """A CliSafeLoader with yaml.v3's alias rule, a nesting limit and no key set twice (module
    docstring)."""

    _depth = 0
    _nodes = 0
    _aliases = False

    def compose_node(self, parent, index):
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_NODES:
                mark = self.peek_event().start_mark
                raise YamlRefused(
                    f"line {mark.line + 1}: more than {MAX_NODES:,} values; a stack file holds a few hundred"
                )
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlRefused(
                    f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep; a stack file needs a few"
                )
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                target = super().compose_node(parent, index)  # the anchor's node, or "undefined alias"
                assert target is not None
                self._aliases = True
                return _Alias(event.anchor, target, event.start_mark, event.end_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self):
        node = super().compose_document()
        if node is not None and self._aliases:
            _AliasCount().visit(node, 0)
            _inline_aliases(node)
        return node

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<`, merged by the SafeConstructor
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise YamlRefused(
                    f"line {key_node.start_mark.line + 1}: key {_short(str(key))} appears twice in one "
                    "mapping; keep one (the Pulumi CLI would silently keep the last)"
                )
            if isinstance(key, str | int | float | bool):
                seen.add(key)
        return super().construct_mapping(node, deep)


def parse(text: str):
    """The YAML document in `text`; YamlRefused for a shape refused above, yaml.YAMLError for
    text that is not YAML."""
    return yaml.load(text, Loader=CliYamlLoader)
