; Annotations: the labels of strip-and-recover, which slicing must not read.
(typed_parameter type: (type) @annotation)
(typed_default_parameter type: (type) @annotation)
(function_definition return_type: (type) @annotation)
(assignment type: (type) @annotation)
