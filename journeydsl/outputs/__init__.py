"""The outputs layer: what people read.

report (text, CSV, Markdown), htmlreport, uncertainty_html, forecast_report,
maps (Graphviz and Mermaid), progress (terminal progress), i18n/ (gettext
catalogues). Imports: language, engine and analysis.
"""
