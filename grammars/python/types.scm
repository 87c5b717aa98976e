; Names that can be used as types: classes, TypeVars/ParamSpecs/NewTypes, and type aliases.
(class_definition name: (identifier) @class)
(assignment
  left: (identifier) @typevar
  right: (call function: [(identifier) (attribute)] @typevar.factory)
  (#match? @typevar.factory "(^|\\.)(TypeVar|ParamSpec|TypeVarTuple|NewType|NamedTuple|TypedDict)$"))
(assignment
  left: (identifier) @alias
  type: (type) @alias.marker
  (#match? @alias.marker "TypeAlias$"))
(type_alias_statement (type (identifier) @alias))
