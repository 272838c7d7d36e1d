"""The language layer: journey text -> a validated model, and back.

source (files and spans), syntax (the tree of statements), parser (Lark, with
the grammar cache), transformer (Lark tree -> syntax), compile and compile_plan
(syntax -> the pydantic model with diagnostics), checks (whole-journey checks),
graph (the journey as a networkx graph), digraph (reach, SCCs and cycles
without networkx, for checks and the engine), fmt (canonical text),
errors, model, params (parameter declarations and their distributions),
sanitize (labels made safe per medium), fileio (the one output writer),
templates (the example journeys `journeydsl new` starts from).

Imports point down only: this layer imports nothing else of journeydsl.
"""
