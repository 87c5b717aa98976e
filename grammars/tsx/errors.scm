; Syntax errors: tree-sitter recovers from them with ERROR nodes (unparseable text)
; and MISSING nodes (a token it inserted). typetool reports each with its line and still analyses the rest.
(ERROR) @error
(MISSING) @missing
