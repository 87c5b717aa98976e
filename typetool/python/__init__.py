"""The Python wing: what typetool knows of Python, behind `typetool.languages.Language` (`language.LANGUAGE`).

Its writer is `typetool.python.writeback` (libcst). The Python front half (parse, facts, project, slots,
slices) is still at the package's top level (`typetool.parse`, `typetool.pyfacts`, ...): moving it here is
the next step of the core/wings split (issue 16).
"""
