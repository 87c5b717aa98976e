"""Type names every project shares: Python builtins, typing and common stdlib types; TypeScript's built-ins.

Does: the name sets that decide what counts as a user-defined type (evaluation groups, corpus statistics) and
which names training may rename (`typetool.model.augment`). Light on purpose: no parser imports, so training
on a machine without tree-sitter can use it.
Does not: parse types (`typeexpr`) or list the names the decoder's grammar knows (`model.grammar`).
"""

from __future__ import annotations

import re

# the words of an identifier: `CSTNode` -> CST, Node; `parser_config` -> parser, config; `HTTPClient2` -> HTTP, Client2
CAMEL_PART_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+")


def name_words(name: str) -> list[str]:
    """The lower-cased words of an identifier (`CAMEL_PART_RE`), underscores and `$` dropped."""
    return [w.lower() for w in CAMEL_PART_RE.findall(name)]

PYTHON_BUILTIN_TYPES = frozenset({
    "int", "str", "float", "bool", "bytes", "None", "list", "dict", "set", "tuple", "frozenset", "object",
    "type", "complex", "bytearray", "Any", "Callable", "Iterable", "Iterator", "Sequence", "Mapping",
    "Generator", "AsyncIterator", "Awaitable", "Coroutine", "Literal", "Union", "Optional",
})

STDLIB_TYPE_NAMES = frozenset({
    "Path", "PurePath", "datetime", "date", "time", "timedelta", "Decimal", "Fraction", "UUID", "Enum",
    "Pattern", "Match", "IO", "TextIO", "BinaryIO", "Logger", "Namespace", "ArgumentParser", "Counter",
    "OrderedDict", "defaultdict", "deque", "ChainMap", "TracebackType", "ModuleType", "FrameType", "CodeType",
    "FunctionType", "MethodType", "Thread", "Lock", "RLock", "Event", "Queue", "Executor", "Future", "Task",
    "AbstractEventLoop", "Self", "TypeVar", "Protocol", "Generic", "Type", "NoReturn", "Never", "TypeGuard",
    "ParamSpec", "Concatenate", "AsyncGenerator", "AsyncIterable", "Collection", "Container", "Hashable",
    "Sized", "Reversible", "MutableMapping", "MutableSequence", "MutableSet", "AbstractSet", "KeysView",
    "ValuesView", "ItemsView", "ContextManager", "AsyncContextManager", "NamedTuple", "TypedDict",
    "SupportsInt", "SupportsFloat", "SupportsIndex", "LiteralString", "Unpack", "TypeAlias", "Final",
    "ClassVar", "Annotated", "Text", "AnyStr", "ByteString", "Buffer", "memoryview", "range", "slice",
    "Exception", "BaseException", "ValueError", "TypeError", "KeyError", "OSError", "property",
    "...", "[]", "()", "|",
})


def is_stdlib_name(name: str) -> bool:
    return name in STDLIB_TYPE_NAMES or name.startswith("'") or name[:1].isdigit() or name in ("True", "False")


TS_BUILTIN_TYPES = frozenset({
    "string", "number", "boolean", "any", "unknown", "void", "undefined", "null", "never", "object", "bigint",
    "symbol", "this", "Array", "ReadonlyArray", "Promise", "PromiseLike", "Record", "Map", "Set", "WeakMap",
    "WeakSet", "ReadonlyMap", "ReadonlySet", "Partial", "Required", "Readonly", "Pick", "Omit", "Exclude",
    "Extract", "NonNullable", "ReturnType", "Parameters", "InstanceType", "Awaited", "Iterable", "Iterator",
    "IterableIterator", "AsyncIterable", "AsyncIterator", "AsyncIterableIterator", "Generator", "AsyncGenerator",
    "Date", "RegExp", "Error", "TypeError", "Function", "Uint8Array", "ArrayBuffer", "Callable", "tuple",
    "Intersection", "Literal", "[]", "()", "...", "|", "Symbol", "PropertyKey", "ArrayLike", "Response",
    "Request", "Headers", "URL", "AbortSignal", "AbortController", "Blob", "ReadableStream",
})
