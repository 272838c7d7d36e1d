"""The analysis layer: what is worked out from many runs or from data.

fit/ (calibration from CRM exports), uncertainty (parameter draws),
sensitivity (tornado, break-even), attribution, forecast (calendar plans),
targets. Imports: language and engine.
"""
