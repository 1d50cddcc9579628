"""YAML prompt files (``*.prompt.yml``): a safe loader with limits — nesting depth as it
reads, alias expansion before anything walks the values — and the messages' spans."""

from __future__ import annotations

from .messages import ChatError, Conversation, conversation_of

YAML_MAX_DEPTH = 100  # nesting levels; a prompt file needs a handful


def depth_limited_loader():
    """A safe loader that refuses deep nesting as it reads: PyYAML composes recursively and
    slows down quadratically on thousands of open ``[``, long before a RecursionError."""
    import yaml

    class DepthLimitedLoader(yaml.SafeLoader):
        depth = 0

        def fetch_flow_collection_start(self, token_class):
            # the scanner reads a flow collection's whole nesting ahead of the composer (each
            # open "[" may start a simple key), scanning it in quadratic time: stop it here
            if self.flow_level >= YAML_MAX_DEPTH:
                raise ChatError(f"YAML nested deeper than {YAML_MAX_DEPTH} levels; "
                                "not read as a chat document")
            super().fetch_flow_collection_start(token_class)

        def compose_node(self, parent, index):
            if self.depth >= YAML_MAX_DEPTH:
                raise ChatError(f"YAML nested deeper than {YAML_MAX_DEPTH} levels; "
                                "not read as a chat document")
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return DepthLimitedLoader


YAML_EXPANDED_NODES = 100_000  # a prompt file's nodes with every alias expanded


def check_alias_expansion(root) -> None:
    """Refuse a YAML document whose aliases expand to more than ``YAML_EXPANDED_NODES``
    nodes ("billion laughs"): the loader shares aliased values, but a template's ``tojson``
    or a copy of the messages walks every expansion. Sizes are counted once per node."""
    import yaml

    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:  # post-order without recursion
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > YAML_EXPANDED_NODES:
                raise ChatError(f"YAML aliases expand to more than {YAML_EXPANDED_NODES:,} values; "
                                "not read as a chat document")
            sizes[id(node)] = total
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)




def yaml_conversations(text: str) -> list[Conversation]:
    import yaml

    loader = None
    try:
        loader = depth_limited_loader()(text)  # the reader refuses unprintable text here
        root = loader.get_single_node()
        if root is None:
            return []
        check_alias_expansion(root)
        value = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise ChatError(f"not valid YAML: {exc}") from exc
    except RecursionError:
        raise ChatError("YAML nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
        return []
    node = next((v for k, v in root.value if getattr(k, "value", None) == "messages"), None)
    if node is None or not isinstance(node, yaml.SequenceNode):
        return []
    spans = [(item.start_mark.index, _rstrip_end(text, item.end_mark.index)) for item in node.value]
    return [conversation_of(value["messages"], spans, root.start_mark.index, len(text))]


def _rstrip_end(text: str, end: int) -> int:
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1
    return end

