; Import bindings, resolved across the project's files by typetool.project.
;   import a.b            -> @module
;   import a.b as c       -> @module @alias
;   from .m import x as y -> @from.module @name @alias
(import_statement name: (dotted_name) @module) @import
(import_statement name: (aliased_import name: (dotted_name) @module alias: (identifier) @alias)) @import
(import_from_statement module_name: (_) @from.module name: (dotted_name) @name) @import.from
(import_from_statement module_name: (_) @from.module name: (aliased_import name: (dotted_name) @name alias: (identifier) @alias)) @import.from
(import_from_statement module_name: (_) @from.module (wildcard_import) @wildcard) @import.from
