"""The type names Python code shares: builtins, typing and common stdlib types, and those the decoder knows.

Does: the name sets that decide what counts as a user-defined Python type (evaluation groups, corpus
statistics, the name linker's candidates) and which names training may rename (`typetool.model.augment`), all
through `Language.is_standard_type`; the names every Python prediction may use (`GRAMMAR_*`, the decoder's
grammar through `Language.grammar_names`). Data only: no parser imports.
Does not: parse types (`typetool.typeexpr`).
"""

from __future__ import annotations

# fmt: off
GRAMMAR_GENERIC = """list dict set frozenset tuple type List Dict Set FrozenSet Tuple Type DefaultDict OrderedDict Counter
ChainMap Deque deque defaultdict Optional Union Callable Iterable Iterator Generator AsyncIterable AsyncIterator
AsyncGenerator Awaitable Coroutine Sequence MutableSequence Mapping MutableMapping AbstractSet MutableSet Collection
Container Reversible ClassVar Final IO Pattern Match re.Pattern re.Match os.PathLike PathLike Queue Task Future
asyncio.Task asyncio.Future asyncio.Queue subprocess.CompletedProcess CompletedProcess Popen subprocess.Popen
TypeGuard ContextManager AsyncContextManager KeysView ValuesView ItemsView Required NotRequired
collections.OrderedDict collections.Counter collections.deque collections.defaultdict collections.abc.Iterable
collections.abc.Iterator collections.abc.Sequence collections.abc.Mapping collections.abc.Callable
collections.abc.Generator collections.abc.AsyncIterator collections.abc.Awaitable collections.abc.Coroutine
typing.Optional typing.Union typing.Callable typing.List typing.Dict typing.Tuple typing.Iterable typing.Iterator"""
GRAMMAR_PLAIN = """int float complex str bytes bytearray memoryview bool object None Any NoReturn Never Self Hashable
Sized SupportsInt SupportsFloat SupportsIndex TextIO BinaryIO LiteralString typing.Any range slice property
BaseException Exception ValueError TypeError KeyError RuntimeError OSError Path PurePath pathlib.Path datetime date
time timedelta timezone datetime.datetime datetime.date datetime.timedelta Decimal Fraction UUID uuid.UUID Enum
IntEnum Logger logging.Logger Namespace argparse.Namespace ArgumentParser argparse.ArgumentParser Thread Lock
Event threading.Thread threading.Lock threading.Event AbstractEventLoop asyncio.AbstractEventLoop socket.socket
StringIO BytesIO TextIOWrapper io.StringIO io.BytesIO ModuleType types.ModuleType TracebackType FrameType
CodeType FunctionType Element ElementTree"""
# fmt: on

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


def is_standard_type(name: str) -> bool:
    """A builtin, typing or common standard-library type name (not a project's own)."""
    return name in PYTHON_BUILTIN_TYPES or is_stdlib_name(name)


def grammar_names() -> dict[str, bool]:
    """name -> may take `[...]`, for the names every Python prediction may use."""
    return {**{n: False for n in GRAMMAR_PLAIN.split()}, **{n: True for n in GRAMMAR_GENERIC.split()}}
