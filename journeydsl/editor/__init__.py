"""Editor support: the words of the language, read from the grammar, and what editors need from them.

:mod:`journeydsl.editor.keywords` reads ``grammars/journey.lark``'s terminals;
:mod:`journeydsl.editor.tmlanguage` builds the VS Code (TextMate) grammar from
them; :mod:`journeydsl.editor.analysis` answers an editor's questions about one
document (symbols, references, completion context) without any LSP library;
:mod:`journeydsl.editor.lsp` speaks the Language Server Protocol and
:mod:`journeydsl.editor.lexer` is the Pygments lexer.
"""
