; Module dependencies of a TypeScript file: import declarations and re-exports (`export ... from`).
(import_statement source: (string (string_fragment) @source)) @import
(export_statement source: (string (string_fragment) @source)) @reexport
