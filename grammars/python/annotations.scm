; Annotations: the labels of strip-and-recover, which slicing must not read.
(typed_parameter type: (type) @annotation)
(typed_default_parameter type: (type) @annotation)
(function_definition return_type: (type) @annotation)
(assignment type: (type) @annotation)
; Import statements: a name they bind is used in code only if it occurs outside them (and outside annotations).
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
