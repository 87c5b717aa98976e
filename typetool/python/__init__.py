"""The Python wing: what typetool knows of Python, behind `typetool.languages.Language` (`language.LANGUAGE`).

`parse` (tree-sitter, recovery from syntax errors, nesting depth), `facts` (scopes, def-use, calls, classes),
`project` (`PythonProject`: cross-file resolution and the code property graph), `slots`, `slices`, `corpus`
(the PyPI corpus) and `writeback` (libcst). It imports the core and never the TypeScript wing.
"""
